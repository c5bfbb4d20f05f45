// Aaren's mixer in the lean runtime: the scan's (m, u, w) per head, updated
// token by token, with the algebra regrouped where that reads fewer bytes (the
// key folded into the query; with one head, the value folded into the output
// projection), products formed in double at load time.
#pragma once

#include "runtime/lean_kernels.h"
#include "runtime/lean_mixer.h"

namespace aaren::lean {

class AarenMixer : public Mixer {
 public:
  AarenMixer(const PolicyFile& f, const std::string& prefix, int64_t d_model, int64_t n_heads);
  int64_t state_floats() const override { return 2 * H_ + D_; }  // m, u [H]; w [D]
  void reset(float* state) const override;
  int64_t scratch_floats() const override { return 3 * H_ + 9 * D_; }
  void mix(const float* y, int64_t n, int64_t first, float* state, float* x, float* scratch) const override;
  int64_t bytes() const override;

 private:
  int64_t D_, H_;
  // Scores: the key folded into the query, s_h = score_weight[h]·y + score_bias[h]
  // (H dot products of length D, not a padded GEMM panel).
  AlignedFloats score_weight_;     // [H][D]
  std::vector<float> score_bias_;  // [H]
  // One head: the attention weights sum to 1, so W_o (sum a_i (W_v y_i + b_v)) + b_o
  // = (W_o W_v)(sum a_i y_i) + (W_o b_v + b_o): the scan runs over the
  // normalised inputs y_i and one [D -> D] matrix replaces two. Several
  // heads keep the value projection (their state would grow H-fold).
  bool values_folded_ = false;
  PackedLinear value_;  // [D -> D], only when !values_folded_
  PackedLinear out_;    // W_o W_v (folded) or W_o
};

}  // namespace aaren::lean
