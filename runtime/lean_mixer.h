// A layer's token mixer in the lean runtime: the function of the LibTorch
// mixer of the same backbone (agents/models/), for the tokens of one env step
// (up to three), on a state of fixed size that the policy owns. One class per
// backbone the runtime runs (lean_aaren.h, lean_lstm.h), one row of
// read_mixer (lean_mixer.cpp) that reads it from a policy file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "runtime/policy_file.h"

namespace aaren::lean {

class Mixer {
 public:
  virtual ~Mixer() = default;
  virtual int64_t state_floats() const = 0;    // the state one policy keeps for this layer
  virtual void reset(float* state) const = 0;  // the empty state (an episode's start)
  virtual int64_t scratch_floats() const = 0;  // working memory for up to three tokens
  // y [n][D]: this step's tokens after the block's ln_mix, in order. Feeds
  // them to the state, and adds the mixer's output of tokens first..n-1 to
  // x[first..n-1] (the residual). No allocation.
  virtual void mix(const float* y, int64_t n, int64_t first, float* state, float* x, float* scratch) const = 0;
  virtual int64_t bytes() const = 0;  // weights held (every one read each step)
};

// The mixer of layer `prefix` ("backbone.block0.mixer.") of a `backbone`
// policy file (its header's "backbone"), D wide with H heads. Throws
// PolicyFileError for a backbone the runtime does not run, or missing weights.
std::unique_ptr<const Mixer> read_mixer(const std::string& backbone, const PolicyFile& file, const std::string& prefix,
                                        int64_t d_model, int64_t n_heads);

}  // namespace aaren::lean
