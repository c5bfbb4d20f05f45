#include "agents/models/attention_cpu.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#ifdef AAREN_HAVE_CBLAS
#include <cblas.h>
#endif

namespace aaren {

// The softmax Jacobian's row sum in one order, whatever CPU the build is for.
// Written as a plain loop, `dot += p[j] * g[j]` is compiled under
// -march=native into an in-order vectorised sum (each product rounded, the
// products added one by one) over as many whole vectors as fit, followed by
// a scalar tail that GCC contracts into fused multiply-adds. The widths are
// the host tuning's: 16 then 8 floats on an AMD EPYC (GCC 12, znver3 with
// AVX-512), 8 then 4 under Intel's (Rocket Lake, Sapphire Rapids). So the
// tail held up to 7 fused terms on the one and 3 on the other, and a
// Transformer run's bits differed between them. Written out here in the
// order of the AMD builds that computed the protocol's Transformer cells:
// the first 8 floor(n / 8) terms as rounded products added in order, the
// rest as fused multiply-adds (std::fma: one rounding, in hardware or in
// libm alike). The file is compiled with -ffp-contract=off
// (agents/CMakeLists.txt), so the compiler fuses nothing the source does
// not say. Double follows the same rule (the tests' gradient checks; the
// AMD builds had fused the last n mod 4 terms there, so its bits changed).
template <class T>
T softmax_backward_dot_in_order(const T* p, const T* g, int n) {
  const int rounded_terms = n / 8 * 8;
  T dot = 0;
  for (int j = 0; j < rounded_terms; ++j) dot += p[j] * g[j];
  for (int j = rounded_terms; j < n; ++j) dot = std::fma(p[j], g[j], dot);
  return dot;
}

float softmax_backward_dot(const float* p, const float* g, int n) { return softmax_backward_dot_in_order(p, g, n); }
double softmax_backward_dot(const double* p, const double* g, int n) { return softmax_backward_dot_in_order(p, g, n); }

#ifdef AAREN_HAVE_CBLAS

namespace {

// Row-major C = alpha op(A) op(B), C: m x n, inner k.
void gemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
          float* c, int ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b,
              ldb, 0.0f, c, ldc);
}
void gemm(bool ta, bool tb, int m, int n, int k, double alpha, const double* a, int lda, const double* b, int ldb,
          double* c, int ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b,
              ldb, 0.0, c, ldc);
}

// P (N x N, holding the scaled scores) -> the masked row softmax, in place.
// With zero_masked_queries, a query whose own token is padding also gets a
// zero row (self-attention, where the key mask is the query mask).
template <class T>
void masked_softmax_rows(T* p, int N, const bool* key_real, bool zero_masked_queries) {
  for (int i = 0; i < N; ++i) {
    T* row = p + static_cast<int64_t>(i) * N;
    T max = -std::numeric_limits<T>::infinity();
    if (!(zero_masked_queries && key_real && !key_real[i]))
      for (int j = 0; j <= i; ++j)
        if (!key_real || key_real[j]) max = std::max(max, row[j]);
    if (max == -std::numeric_limits<T>::infinity()) {  // no key to see: the output row is 0
      std::fill(row, row + N, T(0));
      continue;
    }
    T sum = 0;
    for (int j = 0; j <= i; ++j) {
      const T e = (!key_real || key_real[j]) ? std::exp(row[j] - max) : T(0);
      row[j] = e, sum += e;
    }
    const T inv = T(1) / sum;
    for (int j = 0; j <= i; ++j) row[j] *= inv;
    std::fill(row + i + 1, row + N, T(0));
  }
}

// Where the (sequence b, head h) slices live. Separate q, k, v [B, H, N, d]:
// each slice is N x d with row stride d. Packed (a qkv Linear's output
// [B, N, 3D], D = H d, and an output [B, N, D]): the slices are columns
// h*d.. of each row, with row strides 3D and D, so no layout copies are made.
struct Layout {
  int64_t B, H, N, d;
  bool packed;
  int64_t ld_in() const { return packed ? 3 * H * d : d; }
  int64_t ld_out() const { return packed ? H * d : d; }
  // Offsets of q_bh (k and v follow at + kv_step, + 2 kv_step) and of o_bh.
  int64_t in(int64_t bh) const { return packed ? (bh / H) * N * 3 * H * d + (bh % H) * d : bh * N * d; }
  int64_t kv_step() const { return packed ? H * d : B * H * N * d; }
  int64_t out(int64_t bh) const { return packed ? (bh / H) * N * H * d + (bh % H) * d : bh * N * d; }
};

// O = softmax(mask(Q K^T / sqrt(d))) V per (b, h); P keeps the probabilities.
// `in` holds q, k and v at in(bh), + kv_step, + 2 kv_step.
template <class T>
void attention_forward(const Layout& L, const T* in, const bool* mask, bool zero_masked_queries, T* P, T* O) {
  const T scale = T(1) / std::sqrt(static_cast<T>(L.d));
  const int n = static_cast<int>(L.N), dd = static_cast<int>(L.d);
  const int li = static_cast<int>(L.ld_in()), lo = static_cast<int>(L.ld_out());
  at::parallel_for(0, L.B * L.H, 1, [&](int64_t begin, int64_t end) {
    for (int64_t bh = begin; bh < end; ++bh) {
      const T *q = in + L.in(bh), *k = q + L.kv_step(), *v = k + L.kv_step();
      T* p = P + bh * L.N * L.N;
      gemm(false, true, n, n, dd, scale, q, li, k, li, p, n);  // S = Q K^T / sqrt(d)
      masked_softmax_rows(p, n, mask ? mask + (bh / L.H) * L.N : nullptr, zero_masked_queries);
      gemm(false, false, n, dd, n, T(1), p, n, v, li, O + L.out(bh), lo);  // O = P V
    }
  });
}

// The backward: from dO, the gradients of q, k and v, laid out as `in`.
template <class T>
void attention_backward(const Layout& L, const T* in, const T* P, const T* G, T* grad_in) {
  const T scale = T(1) / std::sqrt(static_cast<T>(L.d));
  const int n = static_cast<int>(L.N), dd = static_cast<int>(L.d);
  const int li = static_cast<int>(L.ld_in()), lo = static_cast<int>(L.ld_out());
  at::parallel_for(0, L.B * L.H, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> ds(static_cast<size_t>(L.N * L.N));
    for (int64_t bh = begin; bh < end; ++bh) {
      const T *q = in + L.in(bh), *k = q + L.kv_step(), *v = k + L.kv_step();
      T *dq = grad_in + L.in(bh), *dk = dq + L.kv_step(), *dv = dk + L.kv_step();
      const T *p = P + bh * L.N * L.N, *g = G + L.out(bh);
      gemm(true, false, n, dd, n, T(1), p, n, g, lo, dv, li);         // dV = P^T dO
      gemm(false, true, n, n, dd, T(1), g, lo, v, li, ds.data(), n);  // dP = dO V^T
      // Softmax's Jacobian: dS_ij = P_ij (dP_ij - sum_l P_il dP_il); masked entries have P = 0.
      for (int i = 0; i < n; ++i) {
        const T* pi = p + static_cast<int64_t>(i) * n;
        T* row = ds.data() + static_cast<int64_t>(i) * n;
        const T dot = softmax_backward_dot(pi, row, i + 1);
        for (int j = 0; j <= i; ++j) row[j] = pi[j] * (row[j] - dot);
        std::fill(row + i + 1, row + n, T(0));
      }
      gemm(false, false, n, dd, n, scale, ds.data(), n, k, li, dq, li);  // dQ = dS K / sqrt(d)
      gemm(true, false, n, dd, n, scale, ds.data(), n, q, li, dk, li);   // dK = dS^T Q / sqrt(d)
    }
  });
}

// The two passes on tensors: `in` holds q, k and v as `L` says; `out` is
// written, P ([B, H, N, N]) is returned for the backward.
torch::Tensor forward_pass(const Layout& L, const torch::Tensor& in, const torch::Tensor& key_mask,
                           bool zero_masked_queries, torch::Tensor& out) {
  auto probs = torch::empty({L.B, L.H, L.N, L.N}, in.options());
  const auto mask = key_mask.numel() > 0 ? key_mask.to(torch::kBool).contiguous() : torch::Tensor();
  AT_DISPATCH_FLOATING_TYPES(in.scalar_type(), "fused_causal_attention", [&] {
    attention_forward<scalar_t>(L, in.data_ptr<scalar_t>(), mask.defined() ? mask.data_ptr<bool>() : nullptr,
                                zero_masked_queries, probs.data_ptr<scalar_t>(), out.data_ptr<scalar_t>());
  });
  return probs;
}

torch::Tensor backward_pass(const Layout& L, const torch::Tensor& in, const torch::Tensor& probs,
                            const torch::Tensor& grad_out) {
  const auto g = grad_out.contiguous();
  auto grad = torch::empty_like(in);
  AT_DISPATCH_FLOATING_TYPES(in.scalar_type(), "fused_causal_attention_backward", [&] {
    attention_backward<scalar_t>(L, in.data_ptr<scalar_t>(), probs.data_ptr<scalar_t>(), g.data_ptr<scalar_t>(),
                                 grad.data_ptr<scalar_t>());
  });
  return grad;
}

// q, k, v: [B, H, N, d] each.
class FusedAttention : public torch::autograd::Function<FusedAttention> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v, const torch::Tensor& key_mask) {
    // One [3, B, H, N, d] block, so q, k and v share the packed kernel's addressing.
    const auto qkv = torch::stack({q, k, v});
    auto out = torch::empty_like(q, at::MemoryFormat::Contiguous);
    const auto probs = forward_pass({q.size(0), q.size(1), q.size(2), q.size(3), false}, qkv, key_mask, false, out);
    ctx->save_for_backward({qkv, probs});
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &qkv = saved[0], &probs = saved[1];
    const auto grad = backward_pass({qkv.size(1), qkv.size(2), qkv.size(3), qkv.size(4), false}, qkv, probs, grads[0]);
    return {grad[0], grad[1], grad[2], torch::Tensor()};
  }
};

// qkv: [B, N, 3D] (q | k | v, heads of d = D / H side by side in each).
class FusedSelfAttention : public torch::autograd::Function<FusedSelfAttention> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& qkv_in,
                               const torch::Tensor& key_mask, int64_t heads) {
    const auto qkv = qkv_in.contiguous();
    const int64_t B = qkv.size(0), N = qkv.size(1), D = qkv.size(2) / 3;
    auto out = torch::empty({B, N, D}, qkv.options());
    const auto probs = forward_pass({B, heads, N, D / heads, true}, qkv, key_mask, true, out);
    ctx->save_for_backward({qkv, probs});
    ctx->saved_data["heads"] = heads;
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &qkv = saved[0], &probs = saved[1];
    const int64_t heads = ctx->saved_data["heads"].toInt();
    const Layout L{qkv.size(0), heads, qkv.size(1), qkv.size(2) / 3 / heads, true};
    return {backward_pass(L, qkv, probs, grads[0]), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

bool fused_attention_built() { return true; }

bool fused_attention_applies(const torch::Tensor& t, int64_t tokens) {
  return t.device().is_cpu() && (t.scalar_type() == torch::kFloat || t.scalar_type() == torch::kDouble) &&
         tokens <= 4096;
}

torch::Tensor fused_causal_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                     const torch::Tensor& key_mask) {
  TORCH_CHECK(q.dim() == 4 && k.sizes() == q.sizes() && v.sizes() == q.sizes(),
              "fused attention: q, k, v must be [B, H, N, d] alike");
  // (An autograd Function's arguments must all be defined: no mask = an empty one.)
  return FusedAttention::apply(q, k, v, key_mask.defined() ? key_mask : torch::empty({0}, torch::kBool));
}

torch::Tensor fused_causal_self_attention(const torch::Tensor& qkv, const torch::Tensor& mask, int64_t heads) {
  TORCH_CHECK(qkv.dim() == 3 && heads > 0 && qkv.size(2) % (3 * heads) == 0,
              "fused self-attention: qkv must be [B, N, 3 D] with D a multiple of ", heads, " heads, got ",
              qkv.sizes());
  if (mask.defined())
    TORCH_CHECK(mask.dim() == 2 && mask.size(0) == qkv.size(0) && mask.size(1) == qkv.size(1),
                "fused self-attention: mask must be [B, N], got ", mask.sizes());
  return FusedSelfAttention::apply(qkv, mask.defined() ? mask : torch::empty({0}, torch::kBool), heads);
}

#else  // no CBLAS in this build: LibTorch's path serves every input

bool fused_attention_built() { return false; }

bool fused_attention_applies(const torch::Tensor&, int64_t) { return false; }

torch::Tensor fused_causal_attention(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&,
                                     const torch::Tensor&) {
  TORCH_CHECK(false, "fused attention: this build has no CBLAS");
}

torch::Tensor fused_causal_self_attention(const torch::Tensor&, const torch::Tensor&, int64_t) {
  TORCH_CHECK(false, "fused attention: this build has no CBLAS");
}

#endif

}  // namespace aaren
