// Brute-force per-prefix softmax attention in float64: the ground truth the
// scans are tested and benchmarked against.
#include <torch/torch.h>

#include <limits>

#include "agents/scan/scan.h"

namespace aaren {

at::Tensor attention_bruteforce(const at::Tensor& scores_in, const at::Tensor& values_in,
                                const c10::optional<ScanState>& initial, const at::Tensor& mask) {
  check_scan_inputs(scores_in, values_in, initial, mask);
  torch::NoGradGuard no_grad;
  const auto B = scores_in.size(0), H = scores_in.size(1), N = scores_in.size(2), d = values_in.size(3);
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64).device(scores_in.device());
  const auto scores = scores_in.to(torch::kFloat64);
  const auto values = values_in.to(torch::kFloat64);
  const double neg_inf = -std::numeric_limits<double>::infinity();

  // The initial state (m0, u0, w0) acts as one extra token in front, with
  // score m0 + log u0 and value w0 / u0 (absent when u0 = 0).
  torch::Tensor s0, v0;
  if (initial) {
    const auto m0 = initial->m.to(torch::kFloat64), u0 = initial->u.to(torch::kFloat64);
    const auto w0 = initial->w.to(torch::kFloat64);
    const auto present = u0 > 0;
    s0 = torch::where(present, m0 + torch::log(torch::where(present, u0, torch::ones_like(u0))),
                      torch::full_like(u0, neg_inf));
    v0 = torch::where(present.unsqueeze(-1), w0 / torch::where(present, u0, torch::ones_like(u0)).unsqueeze(-1),
                      torch::zeros_like(w0));
  } else {
    s0 = torch::full({B, H}, neg_inf, f64);
    v0 = torch::zeros({B, H, d}, f64);
  }

  // causal[k, i] (over the N+1 keys incl. the initial token): key i <= query k.
  const auto causal = torch::ones({N, N + 1}, f64.dtype(torch::kBool)).tril(1);
  auto out = torch::zeros({B, H, N, d}, f64);
  for (int64_t b = 0; b < B; ++b) {                                // one batch row at a time bounds memory at H*N*(N+1)
    auto keys = torch::cat({s0[b].unsqueeze(-1), scores[b]}, -1);  // [H, N+1]
    auto vals = torch::cat({v0[b].unsqueeze(1), values[b]}, 1);    // [H, N+1, d]
    auto allowed = causal.unsqueeze(0).expand({H, N, N + 1}).clone();  // [H, N, N+1]
    if (mask.defined()) {
      const auto key_ok = torch::cat({torch::ones({1}, mask.options()), mask[b]});  // [N+1]
      allowed &= key_ok.view({1, 1, N + 1});
    }
    auto logits = torch::where(allowed, keys.unsqueeze(1).expand({H, N, N + 1}), torch::full({}, neg_inf, f64));
    const auto row_max = std::get<0>(logits.max(-1, true));
    const auto row_ok = ~torch::isinf(row_max);  // some key present
    const auto shifted = logits - torch::where(row_ok, row_max, torch::zeros_like(row_max));
    const auto p = torch::exp(shifted);  // exp(-inf) = 0
    const auto denom = p.sum(-1, true);
    auto o = torch::matmul(p / torch::where(row_ok, denom, torch::ones_like(denom)), vals);  // [H, N, d]
    if (mask.defined()) o = o * mask[b].view({1, N, 1}).to(torch::kFloat64);
    out[b] = o;
  }
  return out;
}

}  // namespace aaren
