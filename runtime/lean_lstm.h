// The LSTM's mixer in the lean runtime (Decision LSTM's layer, as LibTorch's
// torch::nn::LSTM computes it): gates i, f, g, o from W_ih y + W_hh h + b,
// c' = f c + i g, h' = o tanh(c'); the state (h, c), 2 D floats.
#pragma once

#include "runtime/lean_kernels.h"
#include "runtime/lean_mixer.h"

namespace aaren::lean {

class LstmMixer : public Mixer {
 public:
  LstmMixer(const PolicyFile& f, const std::string& prefix, int64_t d_model);
  int64_t state_floats() const override { return 2 * D_; }  // h, c
  void reset(float* state) const override;
  int64_t scratch_floats() const override { return 16 * D_; }  // W_ih y for three tokens, W_hh h
  void mix(const float* y, int64_t n, int64_t first, float* state, float* x, float* scratch) const override;
  int64_t bytes() const override { return input_.bytes() + hidden_.bytes(); }

 private:
  int64_t D_;
  PackedLinear input_;   // W_ih [4D, D], bias b_ih + b_hh: every token of a step at once
  PackedLinear hidden_;  // W_hh [4D, D], no bias: token by token, on h
};

}  // namespace aaren::lean
