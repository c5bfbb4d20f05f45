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
template <class T>
void masked_softmax_rows(T* p, int N, const bool* key_real) {
  for (int i = 0; i < N; ++i) {
    T* row = p + static_cast<int64_t>(i) * N;
    T max = -std::numeric_limits<T>::infinity();
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

class FusedAttention : public torch::autograd::Function<FusedAttention> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& q_in,
                               const torch::Tensor& k_in, const torch::Tensor& v_in, const torch::Tensor& key_mask) {
    const auto q = q_in.contiguous(), k = k_in.contiguous(), v = v_in.contiguous();
    const int64_t B = q.size(0), H = q.size(1), N = q.size(2), d = q.size(3);
    auto probs = torch::empty({B, H, N, N}, q.options());
    auto out = torch::empty_like(q);
    const auto mask = key_mask.numel() > 0 ? key_mask.to(torch::kBool).contiguous() : torch::Tensor();
    AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "fused_causal_attention", [&] {
      const scalar_t scale = scalar_t(1) / std::sqrt(static_cast<scalar_t>(d));
      const scalar_t *Q = q.data_ptr<scalar_t>(), *K = k.data_ptr<scalar_t>(), *V = v.data_ptr<scalar_t>();
      scalar_t *P = probs.data_ptr<scalar_t>(), *O = out.data_ptr<scalar_t>();
      const bool* M = mask.defined() ? mask.data_ptr<bool>() : nullptr;
      at::parallel_for(0, B * H, 1, [&](int64_t begin, int64_t end) {
        for (int64_t bh = begin; bh < end; ++bh) {
          const int64_t b = bh / H, x = bh * N * d, s = bh * N * N;
          const int n = static_cast<int>(N), dd = static_cast<int>(d);
          gemm(false, true, n, n, dd, scale, Q + x, dd, K + x, dd, P + s, n);  // S = Q K^T / sqrt(d)
          masked_softmax_rows(P + s, n, M ? M + b * N : nullptr);
          gemm(false, false, n, dd, n, scalar_t(1), P + s, n, V + x, dd, O + x, dd);  // O = P V
        }
      });
    });
    ctx->save_for_backward({q, k, v, probs});
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &q = saved[0], &k = saved[1], &v = saved[2], &probs = saved[3];
    const auto g = grads[0].contiguous();
    const int64_t B = q.size(0), H = q.size(1), N = q.size(2), d = q.size(3);
    auto dq = torch::empty_like(q), dk = torch::empty_like(k), dv = torch::empty_like(v);
    AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "fused_causal_attention_backward", [&] {
      const scalar_t scale = scalar_t(1) / std::sqrt(static_cast<scalar_t>(d));
      const scalar_t *Q = q.data_ptr<scalar_t>(), *K = k.data_ptr<scalar_t>(), *V = v.data_ptr<scalar_t>();
      const scalar_t *P = probs.data_ptr<scalar_t>(), *G = g.data_ptr<scalar_t>();
      scalar_t *DQ = dq.data_ptr<scalar_t>(), *DK = dk.data_ptr<scalar_t>(), *DV = dv.data_ptr<scalar_t>();
      at::parallel_for(0, B * H, 1, [&](int64_t begin, int64_t end) {
        std::vector<scalar_t> ds(static_cast<size_t>(N * N));
        const int n = static_cast<int>(N), dd = static_cast<int>(d);
        for (int64_t bh = begin; bh < end; ++bh) {
          const int64_t x = bh * N * d, s = bh * N * N;
          gemm(true, false, n, dd, n, scalar_t(1), P + s, n, G + x, dd, DV + x, dd);     // dV = P^T dO
          gemm(false, true, n, n, dd, scalar_t(1), G + x, dd, V + x, dd, ds.data(), n);  // dP = dO V^T
          // Softmax's Jacobian: dS_ij = P_ij (dP_ij - sum_l P_il dP_il); masked entries have P = 0.
          for (int i = 0; i < n; ++i) {
            const scalar_t* p = P + s + static_cast<int64_t>(i) * n;
            scalar_t* row = ds.data() + static_cast<int64_t>(i) * n;
            scalar_t dot = 0;
            for (int j = 0; j <= i; ++j) dot += p[j] * row[j];
            for (int j = 0; j <= i; ++j) row[j] = p[j] * (row[j] - dot);
            std::fill(row + i + 1, row + n, scalar_t(0));
          }
          gemm(false, false, n, dd, n, scale, ds.data(), n, K + x, dd, DQ + x, dd);  // dQ = dS K / sqrt(d)
          gemm(true, false, n, dd, n, scale, ds.data(), n, Q + x, dd, DK + x, dd);   // dK = dS^T Q / sqrt(d)
        }
      });
    });
    return {dq, dk, dv, torch::Tensor()};
  }
};

}  // namespace

bool fused_attention_applies(const torch::Tensor& q) {
  return q.device().is_cpu() && (q.scalar_type() == torch::kFloat || q.scalar_type() == torch::kDouble) &&
         q.size(2) <= 4096;
}

torch::Tensor fused_causal_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                     const torch::Tensor& key_mask) {
  TORCH_CHECK(q.dim() == 4 && k.sizes() == q.sizes() && v.sizes() == q.sizes(),
              "fused attention: q, k, v must be [B, H, N, d] alike");
  // (An autograd Function's arguments must all be defined: no mask = an empty one.)
  return FusedAttention::apply(q, k, v, key_mask.defined() ? key_mask : torch::empty({0}, torch::kBool));
}

#else  // no CBLAS in this build: LibTorch's path serves every input

bool fused_attention_applies(const torch::Tensor&) { return false; }

torch::Tensor fused_causal_attention(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&,
                                     const torch::Tensor&) {
  TORCH_CHECK(false, "fused attention: this build has no CBLAS");
}

#endif

}  // namespace aaren
