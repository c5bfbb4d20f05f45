// Reference scan (the oracle): Hillis–Steele over the associative (m, u, w)
// combine, written with LibTorch ops so that autograd supplies the gradients.
#include "agents/scan/scan.h"

#include <torch/torch.h>

#include <limits>

namespace aaren {

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// Replace -inf by 0 so that exp(x - m) is exp(-inf) = 0 rather than NaN when
// both sides of a combine are empty.
torch::Tensor finite_or_zero(const torch::Tensor& m) { return torch::where(torch::isinf(m), torch::zeros_like(m), m); }

// Combine summaries A (earlier tokens) and B (later tokens); m is detached.
// Shapes broadcast: m, u [..., N], w [..., N, d].
void combine(const torch::Tensor& mA, const torch::Tensor& uA, const torch::Tensor& wA, const torch::Tensor& mB,
             const torch::Tensor& uB, const torch::Tensor& wB, torch::Tensor& m, torch::Tensor& u, torch::Tensor& w) {
  m = torch::maximum(mA, mB);
  const auto ref = finite_or_zero(m);
  const auto a = torch::exp(mA - ref);
  const auto b = torch::exp(mB - ref);
  u = uA * a + uB * b;
  w = wA * a.unsqueeze(-1) + wB * b.unsqueeze(-1);
}

}  // namespace

ScanState ScanState::empty(int64_t batch, int64_t heads, int64_t dim, const at::TensorOptions& options) {
  return {torch::full({batch, heads}, kNegInf, options), torch::zeros({batch, heads}, options),
          torch::zeros({batch, heads, dim}, options)};
}

int64_t ScanState::bytes() const {
  int64_t total = 0;
  for (const auto* t : {&m, &u, &w})
    if (t->defined()) total += t->numel() * static_cast<int64_t>(t->element_size());
  return total;
}

at::Tensor ScanState::output() const {
  const auto nonempty = (u > 0).unsqueeze(-1);
  const auto safe_u = torch::where(u > 0, u, torch::ones_like(u)).unsqueeze(-1);
  return torch::where(nonempty, w / safe_u, torch::zeros_like(w));
}

void check_scan_inputs(const at::Tensor& scores, const at::Tensor& values, const c10::optional<ScanState>& initial,
                       const at::Tensor& mask) {
  TORCH_CHECK(scores.defined() && scores.dim() == 3, "aaren scan: scores must be [B, H, N], got ",
              scores.defined() ? scores.sizes() : at::IntArrayRef{});
  TORCH_CHECK(values.defined() && values.dim() == 4, "aaren scan: values must be [B, H, N, d], got ",
              values.defined() ? values.sizes() : at::IntArrayRef{});
  TORCH_CHECK(scores.is_floating_point(), "aaren scan: scores must be floating point, got ", scores.scalar_type());
  TORCH_CHECK(values.scalar_type() == scores.scalar_type(), "aaren scan: values dtype ", values.scalar_type(),
              " differs from scores dtype ", scores.scalar_type());
  TORCH_CHECK(values.size(0) == scores.size(0) && values.size(1) == scores.size(1) && values.size(2) == scores.size(2),
              "aaren scan: values ", values.sizes(), " do not match scores ", scores.sizes());
  TORCH_CHECK(scores.size(2) >= 1, "aaren scan: need at least one token (N >= 1)");
  const auto B = scores.size(0), H = scores.size(1), N = scores.size(2), d = values.size(3);
  if (mask.defined()) {
    TORCH_CHECK(mask.scalar_type() == at::kBool && mask.dim() == 2 && mask.size(0) == B && mask.size(1) == N,
                "aaren scan: mask must be bool [B, N] = [", B, ", ", N, "], got ", mask.scalar_type(), " ",
                mask.sizes());
  }
  if (initial) {
    const auto& st = *initial;
    TORCH_CHECK(st.m.defined() && st.u.defined() && st.w.defined(), "aaren scan: initial state has undefined tensors");
    TORCH_CHECK(st.m.sizes() == at::IntArrayRef({B, H}) && st.u.sizes() == at::IntArrayRef({B, H}) &&
                    st.w.sizes() == at::IntArrayRef({B, H, d}),
                "aaren scan: initial state must be m, u [", B, ", ", H, "] and w [", B, ", ", H, ", ", d, "], got m ",
                st.m.sizes(), ", u ", st.u.sizes(), ", w ", st.w.sizes());
    TORCH_CHECK(st.m.scalar_type() == scores.scalar_type() && st.u.scalar_type() == scores.scalar_type() &&
                    st.w.scalar_type() == scores.scalar_type(),
                "aaren scan: initial state dtype must be ", scores.scalar_type());
  }
}

ScanResult scan_reference(const at::Tensor& scores, const at::Tensor& values, const c10::optional<ScanState>& initial,
                          const at::Tensor& mask) {
  check_scan_inputs(scores, values, initial, mask);
  const auto N = scores.size(2);

  // Leaves (s_i, 1, v_i); padded leaves are the identity (-inf, 0, 0).
  // u = exp(s - detach(s)) is 1 in value but carries d/ds, because m is
  // treated as a constant.
  auto valid = mask.defined() ? mask.unsqueeze(1).expand_as(scores) : torch::ones_like(scores, torch::kBool);
  auto m = torch::where(valid, scores.detach(), torch::full_like(scores, kNegInf));
  auto u = torch::where(valid, torch::exp(scores - scores.detach()), torch::zeros_like(scores));
  auto w = values * u.unsqueeze(-1);

  // Hillis–Steele: after the round with offset `off`, position k summarises
  // tokens max(0, k - 2*off + 1) .. k.
  for (int64_t off = 1; off < N; off *= 2) {
    torch::Tensor mc, uc, wc;
    combine(m.narrow(2, 0, N - off), u.narrow(2, 0, N - off), w.narrow(2, 0, N - off), m.narrow(2, off, N - off),
            u.narrow(2, off, N - off), w.narrow(2, off, N - off), mc, uc, wc);
    m = torch::cat({m.narrow(2, 0, off), mc}, 2);
    u = torch::cat({u.narrow(2, 0, off), uc}, 2);
    w = torch::cat({w.narrow(2, 0, off), wc}, 2);
  }

  if (initial) {  // prefix k = initial ∘ tokens 1..k
    torch::Tensor mc, uc, wc;
    combine(initial->m.detach().unsqueeze(-1), initial->u.unsqueeze(-1), initial->w.unsqueeze(2), m, u, w, mc, uc, wc);
    m = mc, u = uc, w = wc;
  }

  // o = w / u; the where() on a safe denominator keeps NaN out of the
  // gradient of untaken branches.
  const auto nonempty = valid & (u > 0);
  const auto safe_u = torch::where(nonempty, u, torch::ones_like(u));
  const auto out = torch::where(nonempty.unsqueeze(-1), w / safe_u.unsqueeze(-1), torch::zeros_like(w));

  ScanResult result;
  result.out = out;
  result.final = {m.select(2, N - 1), u.select(2, N - 1), w.select(2, N - 1)};
  return result;
}

}  // namespace aaren
