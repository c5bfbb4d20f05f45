#include "runtime/lean_lstm.h"

#include <algorithm>
#include <cmath>

namespace aaren::lean {

namespace {
inline float sigmoid(float v) { return 1.0f / (1.0f + std::exp(-v)); }
}  // namespace

LstmMixer::LstmMixer(const PolicyFile& f, const std::string& prefix, int64_t D) : D_(D) {
  const auto b_ih = copy_of(f, prefix + "lstm.bias_ih_l0", {4 * D});
  const auto b_hh = copy_of(f, prefix + "lstm.bias_hh_l0", {4 * D});
  std::vector<float> bias(4 * D);
  for (int64_t k = 0; k < 4 * D; ++k) bias[k] = b_ih[k] + b_hh[k];
  input_ = PackedLinear::pack(copy_of(f, prefix + "lstm.weight_ih_l0", {4 * D, D}), bias, 4 * D, D);
  hidden_ = PackedLinear::pack(copy_of(f, prefix + "lstm.weight_hh_l0", {4 * D, D}), std::vector<float>(4 * D, 0.0f),
                               4 * D, D);
}

void LstmMixer::reset(float* state) const { std::fill(state, state + 2 * D_, 0.0f); }

// LibTorch's gate order in the stacked weights: input, forget, cell (g), output.
void LstmMixer::mix(const float* y, int64_t n, int64_t first, float* state, float* x, float* scratch) const {
  const int64_t D = D_;
  float* h = state;
  float* c = state + D;
  float* from_input = scratch;            // [n][4D]
  float* from_hidden = scratch + 12 * D;  // [4D]
  input_.apply(y, n, from_input);
  for (int64_t j = 0; j < n; ++j) {
    hidden_.apply(h, 1, from_hidden);  // W_hh h, before h changes
    const float* gx = from_input + j * 4 * D;
    for (int64_t k = 0; k < D; ++k) {
      const float i = sigmoid(gx[k] + from_hidden[k]);
      const float f = sigmoid(gx[D + k] + from_hidden[D + k]);
      const float g = std::tanh(gx[2 * D + k] + from_hidden[2 * D + k]);
      const float o = sigmoid(gx[3 * D + k] + from_hidden[3 * D + k]);
      c[k] = f * c[k] + i * g;
      h[k] = o * std::tanh(c[k]);
    }
    if (j >= first)
      for (int64_t k = 0; k < D; ++k) x[j * D + k] += h[k];
  }
}

}  // namespace aaren::lean
