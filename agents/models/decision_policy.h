// The decision policy over a backbone chosen by name, in one of two token
// layouts (the same parameters either way):
//   interleaved — Decision Transformer's (Chen et al. 2021): per timestep the tokens
//                 (R_t, s_t, a_t), each with its own linear embedding plus a
//                 learned timestep embedding, then LayerNorm; a_t is read at s_t.
//   fused       — one token per timestep built from (R_t, s_t, a_{t-1}): each
//                 embedding LayerNorm-ed on its own, summed with the timestep
//                 embedding, then LayerNorm; a_t is read at token t. A
//                 recurrent policy then updates once per env step, and
//                 sequences are a third as long. Normalising each part first
//                 is what an interleaved token gets for free: a return-to-go
//                 far outside the data (DT's targets on weaker data) saturates
//                 its own part instead of drowning the state in the sum.
//                 fused_norm = false keeps the plain sum (checkpoints from
//                 before the parts were normalised).
// Actions come out of Linear + tanh.
#pragma once

#include <torch/torch.h>

#include <string>

#include "agents/models/backbone.h"

namespace aaren {

struct DecisionConfig {
  int64_t state_dim = 0;
  int64_t act_dim = 0;
  int64_t max_ep_len = 1000;  // timestep embedding table size (timesteps are clipped to it)
  int64_t context = 20;       // K: the Transformer's window (steps) when acting as DT does
  TokenLayout tokens = TokenLayout::kInterleaved;
  bool fused_norm = true;           // fused: LayerNorm each part before the sum (else the plain sum)
  bool condition_on_return = true;  // false: the return-to-go input is 0 (DT's BC control)
  BackboneConfig backbone;          // kind (Aaren or Transformer), sizes, dropout

  int64_t tokens_per_step() const { return aaren::tokens_per_step(tokens); }

  void validate() const;  // throws std::invalid_argument naming the field
};

class DecisionPolicyImpl : public torch::nn::Module {
 public:
  explicit DecisionPolicyImpl(DecisionConfig config);

  // Parallel (training) pass over whole sequences:
  //   states [B, T, S], actions [B, T, A], returns_to_go [B, T] (scaled),
  //   timesteps [B, T] int64, mask [B, T] bool (or undefined)
  // -> predicted actions [B, T, A] (from the state tokens). With a backbone
  // state, the sequence continues from it (chunked training / acting).
  // Fused layout: step t's token holds a_{t-1}; previous_action [B, A] is the
  // action before the first step (undefined: zeros, as at an episode's start).
  torch::Tensor forward(const torch::Tensor& states, const torch::Tensor& actions, const torch::Tensor& returns_to_go,
                        const torch::Tensor& timesteps, const torch::Tensor& mask = {}, BackboneState* state = nullptr,
                        const torch::Tensor& previous_action = {});

  // Token-by-token acting for a batch of envs, one env step each: feeds the
  // tokens a_{t-1}, R_t, s_t (interleaved: three recurrent updates of the
  // backbone state; fused: one token) and returns a_t [B, A].
  //   previous_actions [B, A], return_to_go [B] (scaled), states [B, S],
  //   timesteps [B] int64 (t), first_step [B] bool: no a_{t-1} token there
  //   (it is fed as padding, which changes nothing); undefined: none is.
  //   Fused: previous_actions must be zeros at a first step (as in training).
  torch::Tensor act(const torch::Tensor& previous_actions, const torch::Tensor& return_to_go,
                    const torch::Tensor& states, const torch::Tensor& timesteps, const torch::Tensor& first_step,
                    BackboneState& state);

  BackboneState initial_state(int64_t batch) const { return backbone->initial_state(batch); }
  const DecisionConfig& config() const { return config_; }
  // The return-to-go input as the model takes it: itself, or 0 for BC.
  torch::Tensor condition(const torch::Tensor& returns_to_go) const;

  // The fused layout's token, LN(N_R(E_R(R_t)) + N_s(E_s(s_t)) + N_a(E_a(a_{t-1})) + E_t(t))
  // (N_*: the per-part LayerNorms; identities when !fused_norm).
  //   returns_to_go [...] (scaled), states [..., S], previous_actions [..., A],
  //   time [..., D] (E_t(t) already) -> [..., D]; leading dims [B, T] or [B].
  torch::Tensor fused_tokens(const torch::Tensor& returns_to_go, const torch::Tensor& states,
                             const torch::Tensor& previous_actions, const torch::Tensor& time);

  Backbone backbone{nullptr};

 private:
  DecisionConfig config_;
  torch::nn::Linear embed_return{nullptr}, embed_state{nullptr}, embed_action{nullptr}, predict_action{nullptr};
  torch::nn::Embedding embed_timestep{nullptr};
  torch::nn::LayerNorm embed_ln{nullptr};
  torch::nn::LayerNorm norm_return{nullptr}, norm_state{nullptr}, norm_action{nullptr};  // fused_norm only
};
TORCH_MODULE(DecisionPolicy);

}  // namespace aaren
