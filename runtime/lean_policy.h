// The lean runtime: a trained decision policy (a backbone with a lean mixer:
// Aaren, LSTM) stepped with the C++ standard library alone — no LibTorch, no
// allocation after construction.
//
// Per env step the policy feeds DT's three tokens (a_{t-1}, R_t, s_t) — or,
// in the fused layout, the one token that sums their (normalised) embeddings — to each
// layer together: the projections and the feed-forward read each weight
// matrix once for all three tokens (weights packed in column panels four SIMD registers wide,
// loops the compiler vectorises), and only the mixer's recurrence runs token
// by token on its state (Aaren's (m, u, w): lean_aaren.h; the LSTM's (h, c):
// lean_lstm.h). Math and parameters are the LibTorch policy's
// (agents/models/decision_policy.h): same layout, same LayerNorm, exact-erf
// GELU; only the algebra is regrouped where that reads fewer bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/lean_kernels.h"
#include "runtime/lean_mixer.h"
#include "runtime/policy_file.h"

namespace aaren::lean {

// The immutable model, shared by every policy instance (one per episode).
struct Model {
  int64_t state_dim = 0, act_dim = 0, d_model = 0, n_layers = 0, n_heads = 0, ff_dim = 0, max_ep_len = 0;
  bool fused = false;       // token layout: one token per step (a_{t-1}, R_t, s_t summed), else DT's three
  bool fused_norm = false;  // fused: each part's embedding LayerNorm-ed before the sum
  double return_scale = 1000.0, target_return = 0.0;
  std::string backbone;  // the policy file's: "aaren", "lstm"
  std::string env;
  std::vector<float> state_mean, state_inv_std;  // (s - mean) * inv_std
  std::vector<float> timestep;                   // [max_ep_len][D]
  PackedLinear embed_return, embed_state, embed_action;
  LayerNormWeights embed_ln;
  LayerNormWeights norm_return, norm_state, norm_action;  // fused_norm only
  struct Layer {
    LayerNormWeights ln_mix, ln_ff;
    std::shared_ptr<const Mixer> mixer;  // the backbone's (read_mixer)
    PackedLinear fc_in, fc_out;
    int64_t bytes() const;
  };
  std::vector<Layer> layers;
  LayerNormWeights ln_final;
  PackedLinear predict;

  static Model from_file(const PolicyFile& file, const std::string& path);  // throws PolicyFileError
  static std::shared_ptr<const Model> load(const std::string& path);
  int64_t weight_bytes() const;         // everything held, the whole timestep table included
  int64_t bytes_read_per_step() const;  // what one env step reads: every matrix once, two timestep rows
};

class Policy {
 public:
  // target_return 0: the model's own target (any other value, negative too, is used as it is). All memory is allocated
  // here.
  explicit Policy(std::shared_ptr<const Model> model, double target_return = 0.0);

  // A new episode: empty state, t = 0, return-to-go = target / scale.
  void reset();
  // observation [state_dim] (raw) -> action [act_dim] in (-1, 1).
  void act(const double* observation, double* action);
  // The env returned this reward for the action just taken.
  void observe(double reward);

  int64_t state_bytes() const;  // the mixers' states: constant over the episode
  const Model& model() const { return *model_; }

 private:
  std::shared_ptr<const Model> model_;
  double target_;
  int64_t t_ = 0;
  float rtg_ = 0;
  std::vector<float> prev_action_, last_action_;
  // Every layer's mixer state, layer l's from state_offset_[l].
  std::vector<float> state_;
  std::vector<int64_t> state_offset_;
  // Scratch for up to three tokens (mixer_scratch_: the largest any layer's mixer needs).
  std::vector<float> x_, y_, mix_, hidden_, mixer_scratch_;
  std::vector<float> input_;  // the normalised observation [state_dim]
};

}  // namespace aaren::lean
