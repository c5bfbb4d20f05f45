// The decision policy (Decision Transformer's token layout, FACTS §2) over a
// backbone chosen by name: per timestep the tokens (R_t, s_t, a_t), each with
// its own linear embedding plus a learned timestep embedding, then LayerNorm;
// the action a_t is read from the output at s_t by Linear + tanh.
#pragma once

#include <torch/torch.h>

#include <string>

#include "agents/backbone.h"

namespace aaren {

struct DecisionConfig {
  int64_t state_dim = 0;
  int64_t act_dim = 0;
  int64_t max_ep_len = 1000;  // timestep embedding table size (timesteps are clipped to it)
  int64_t context = 20;       // K: the Transformer's window (steps) when acting as DT does
  BackboneConfig backbone;    // kind "aaren" | "transformer", sizes, dropout

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
  torch::Tensor forward(const torch::Tensor& states, const torch::Tensor& actions, const torch::Tensor& returns_to_go,
                        const torch::Tensor& timesteps, const torch::Tensor& mask = {},
                        BackboneState* state = nullptr);

  // Token-by-token acting for a batch of envs, one env step each: feeds the
  // tokens a_{t-1}, R_t, s_t (three recurrent updates of the backbone state)
  // and returns a_t [B, A] read at s_t.
  //   previous_actions [B, A], return_to_go [B] (scaled), states [B, S],
  //   timesteps [B] int64 (t), first_step [B] bool: no a_{t-1} token there
  //   (it is fed as padding, which changes nothing); undefined: none is.
  torch::Tensor act(const torch::Tensor& previous_actions, const torch::Tensor& return_to_go,
                    const torch::Tensor& states, const torch::Tensor& timesteps, const torch::Tensor& first_step,
                    BackboneState& state);

  BackboneState initial_state(int64_t batch) const { return backbone->initial_state(batch); }
  const DecisionConfig& config() const { return config_; }

  Backbone backbone{nullptr};

 private:
  // [B, T, D] token embeddings of each kind (timestep embedding added).
  torch::Tensor embed_tokens(const torch::Tensor& states, const torch::Tensor& actions,
                             const torch::Tensor& returns_to_go, const torch::Tensor& timesteps);

  DecisionConfig config_;
  torch::nn::Linear embed_return{nullptr}, embed_state{nullptr}, embed_action{nullptr}, predict_action{nullptr};
  torch::nn::Embedding embed_timestep{nullptr};
  torch::nn::LayerNorm embed_ln{nullptr};
};
TORCH_MODULE(DecisionPolicy);

}  // namespace aaren
