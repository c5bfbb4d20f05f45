// Aaren: multi-head attention whose query is a learned vector per head (not a
// projection of the current token), so o_k depends only on x_1..x_k and is
// computed for every k at once by the prefix scan, or one token at a time in
// constant memory.
#pragma once

#include "agents/models/backbone.h"
#include "agents/scan/scan.h"

namespace aaren {

// Aaren's state for one layer: the scan's (m, u, w) per head, whose size does
// not depend on the tokens seen.
struct AarenState : MixerState {
  ScanState scan;

  explicit AarenState(ScanState s) : scan(std::move(s)) {}
  int64_t bytes() const override { return scan.bytes(); }
  void reset_sequence(int64_t b) override;  // row b's summary becomes the empty one
  void detach_() override { scan = {scan.m.detach(), scan.u.detach(), scan.w.detach()}; }
};

class AarenAttention : public SequenceMixer {
 public:
  explicit AarenAttention(const BackboneConfig& config);

  // x [B, N, D] -> [B, N, D]; state (an AarenState) continued and updated if given.
  // positions [B, N] are needed with a recency bias (config.recency > 0).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask, MixerState* state,
                        const torch::Tensor& positions) override;
  LayerState initial_state(int64_t batch, const torch::TensorOptions& options) const override;
  void prepare_inference() override;
  void train(bool on = true) override;  // train(true) drops the inference snapshot

  // Scores s [B, H, N] and values [B, H, N, d_head] for tokens x [B, N, D].
  std::pair<torch::Tensor, torch::Tensor> scores_and_values(const torch::Tensor& x);
  // The recency rates b_h = softplus(rho_h) >= 0 [H] (undefined without a recency bias).
  torch::Tensor recency_rates() const;

 private:
  int64_t d_model_, n_heads_, d_head_;
  bool reference_scan_;
  torch::Tensor query;        // [H, d_head], one learned query per head
  torch::Tensor recency_rho;  // [H], b = softplus(rho): a rate that cannot turn into a preference for old tokens
  torch::nn::Linear key{nullptr}, value{nullptr}, out{nullptr};

  // Acting: the folded key and the value projection as one [D -> H + D]
  // matrix, a snapshot of the weights taken by prepare_inference() and used
  // in eval mode without gradients until train() (or the next prepare).
  torch::Tensor fused_weight_t_;  // [D, H + D]: scores' columns first
  torch::Tensor fused_bias_;      // [H + D]
  bool inference_prepared_ = false;
  std::pair<torch::Tensor, torch::Tensor> folded_key() const;  // (w_eff [H, D], b_eff [H])
};

}  // namespace aaren
