#include "agents/models/aaren_attention.h"

#include <limits>

#include <cmath>

namespace aaren {

AarenAttention::AarenAttention(const BackboneConfig& config)
    : d_model_(config.d_model),
      n_heads_(config.n_heads),
      d_head_(config.d_model / config.n_heads),
      reference_scan_(config.scan == "reference") {
  query = register_parameter("query", torch::randn({n_heads_, d_head_}) * 0.02);
  key = register_module("key", torch::nn::Linear(d_model_, d_model_));
  value = register_module("value", torch::nn::Linear(d_model_, d_model_));
  out = register_module("out", torch::nn::Linear(d_model_, d_model_));
  if (config.recency > 0) {
    // softplus^-1(b) = log(exp(b) - 1), so that the rate starts at b.
    const double rho = std::log(std::expm1(config.recency));
    recency_rho = register_parameter("recency", torch::full({n_heads_}, rho));
  }
}

torch::Tensor AarenAttention::recency_rates() const {
  return recency_rho.defined() ? torch::softplus(recency_rho) : torch::Tensor();
}

std::pair<torch::Tensor, torch::Tensor> AarenAttention::folded_key() const {
  // The query is the same for every token, so the key projection folds into
  // it: s_h = q_h·(W_h x + b_h) / sqrt(d) = (W_h^T q_h)·x / sqrt(d) + q_h·b_h / sqrt(d).
  // That is a [D -> H] projection instead of [D -> D]: same function and
  // parameters (W, b, q) as the textbook layer, H/D of the key FLOPs.
  const double scale = 1.0 / std::sqrt(static_cast<double>(d_head_));
  const auto q = query * scale;                                                                          // [H, d]
  const auto w_eff = torch::einsum("hd,hdk->hk", {q, key->weight.view({n_heads_, d_head_, d_model_})});  // [H, D]
  const auto b_eff = (key->bias.view({n_heads_, d_head_}) * q).sum(-1);                                  // [H]
  return {w_eff, b_eff};
}

void AarenAttention::prepare_inference() {
  torch::NoGradGuard no_grad;
  auto [w_eff, b_eff] = folded_key();
  fused_weight_t_ = torch::cat({w_eff, value->weight}).t().contiguous();
  fused_bias_ = torch::cat({b_eff, value->bias});
  inference_prepared_ = true;
}

void AarenAttention::train(bool on) {
  if (on) inference_prepared_ = false;
  SequenceMixer::train(on);
}

std::pair<torch::Tensor, torch::Tensor> AarenAttention::scores_and_values(const torch::Tensor& x) {
  const auto B = x.size(0), N = x.size(1);
  const auto x2 = x.reshape({B * N, d_model_});
  if (inference_prepared_ && !is_training() && !torch::GradMode::is_enabled()) {
    // Acting: one GEMM gives the scores and the values.
    const auto proj = torch::addmm(fused_bias_, x2, fused_weight_t_);  // [B*N, H + D]
    const auto scores = proj.narrow(1, 0, n_heads_).view({B, N, n_heads_}).permute({0, 2, 1});
    const auto values = proj.narrow(1, n_heads_, d_model_).reshape({B, N, n_heads_, d_head_}).permute({0, 2, 1, 3});
    return {scores, values};
  }
  const auto [w_eff, b_eff] = folded_key();
  const auto scores = torch::addmm(b_eff, x2, w_eff.t())  // [B*N, H]
                          .view({B, N, n_heads_})
                          .permute({0, 2, 1});                                         // [B, H, N]
  const auto values = value(x).view({B, N, n_heads_, d_head_}).permute({0, 2, 1, 3});  // [B, H, N, d]
  return {scores, values};
}

torch::Tensor AarenAttention::forward(const torch::Tensor& x, const torch::Tensor& mask, MixerState* state,
                                      const torch::Tensor& positions) {
  const auto B = x.size(0), N = x.size(1);
  auto [scores, values] = scores_and_values(x);
  if (recency_rho.defined()) {
    TORCH_CHECK(positions.defined(), "aaren attention: a recency bias needs the tokens' positions");
    // s_i + b p_i, in fp32 whatever the projections ran in: the positions
    // make the scores large (b p ~ 10^2), and the scan works in fp32 anyway.
    const auto dtype = scores.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
    scores = scores.to(dtype) + recency_rates().to(dtype).view({1, n_heads_, 1}) * positions.to(dtype).unsqueeze(1);
    values = values.to(dtype);
  }
  AarenState* own = state ? &state_as<AarenState>(*state, "aaren attention") : nullptr;
  c10::optional<ScanState> initial;
  if (own) initial = own->scan;
  auto result =
      reference_scan_ ? scan_reference(scores, values, initial, mask) : scan_fast(scores, values, initial, mask);
  if (own) own->scan = result.final;
  auto o = result.out.permute({0, 2, 1, 3}).reshape({B * N, d_model_});  // [B*N, D]
  return out(o).view({B, N, d_model_});
}

LayerState AarenAttention::initial_state(int64_t batch, const torch::TensorOptions& options) const {
  return std::make_unique<AarenState>(ScanState::empty(batch, n_heads_, d_head_, options));
}

void AarenState::reset_sequence(int64_t b) {
  torch::NoGradGuard no_grad;
  // Out of place: the tensors may be shared with an autograd graph.
  auto m = scan.m.clone(), u = scan.u.clone(), w = scan.w.clone();
  m[b].fill_(-std::numeric_limits<double>::infinity());
  u[b].zero_();
  w[b].zero_();
  scan = {m, u, w};
}

}  // namespace aaren
