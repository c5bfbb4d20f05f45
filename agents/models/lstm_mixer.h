// The LSTM mixer: one LSTM layer (D -> D) as the token mixer of a block, so
// that the backbone is Decision LSTM's (Siebenborn et al. 2022, "How Crucial
// is Transformer in Decision Transformer?"): DT's embeddings, blocks and head
// with the attention replaced by a recurrence. Its state per layer is (h, c),
// 2 D numbers per sequence whatever the tokens seen; training runs the
// recurrence step by step (LibTorch's LSTM: oneDNN on the CPU, cuDNN on CUDA).
#pragma once

#include "agents/models/backbone.h"

namespace aaren {

// (h, c) of one layer, each [1, B, D] (LibTorch's LSTM layout: layers x batch x hidden).
struct LstmState : MixerState {
  torch::Tensor h, c;

  int64_t bytes() const override;
  void reset_sequence(int64_t b) override;  // row b's (h, c) become the initial zeros
  void detach_() override { h = h.detach(), c = c.detach(); }
};

class LstmMixer : public SequenceMixer {
 public:
  explicit LstmMixer(const BackboneConfig& config);

  // x [B, N, D] -> [B, N, D]. With a mask, each row's real tokens run as one
  // sequence in their order (the padding skipped, wherever it is); padded
  // positions output 0 and leave the state as it was.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask, MixerState* state,
                        const torch::Tensor& positions) override;
  LayerState initial_state(int64_t batch, const torch::TensorOptions& options) const override;

 private:
  int64_t d_model_;
  torch::nn::LSTM lstm{nullptr};

  // The recurrence over rows whose real tokens are not all of them.
  torch::Tensor forward_masked(const torch::Tensor& x, const torch::Tensor& mask, LstmState* state);
};

}  // namespace aaren
