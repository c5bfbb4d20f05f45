#include "agents/models/decision_policy.h"

#include <stdexcept>

namespace aaren {

void DecisionConfig::validate() const {
  auto fail = [](const std::string& what) { throw std::invalid_argument("decision policy: " + what); };
  if (state_dim <= 0) fail("state_dim must be > 0");
  if (act_dim <= 0) fail("act_dim must be > 0");
  if (max_ep_len <= 0) fail("max_ep_len must be > 0");
  if (context <= 0) fail("context must be > 0");
  backbone.validate();
}

DecisionPolicyImpl::DecisionPolicyImpl(DecisionConfig config) : config_(std::move(config)) {
  config_.validate();
  const int64_t D = config_.backbone.d_model;
  embed_timestep = register_module("embed_timestep", torch::nn::Embedding(config_.max_ep_len, D));
  embed_return = register_module("embed_return", torch::nn::Linear(1, D));
  embed_state = register_module("embed_state", torch::nn::Linear(config_.state_dim, D));
  embed_action = register_module("embed_action", torch::nn::Linear(config_.act_dim, D));
  embed_ln = register_module("embed_ln", torch::nn::LayerNorm(torch::nn::LayerNormOptions({D})));
  if (config_.tokens == TokenLayout::kFused && config_.fused_norm) {
    norm_return = register_module("norm_return", torch::nn::LayerNorm(torch::nn::LayerNormOptions({D})));
    norm_state = register_module("norm_state", torch::nn::LayerNorm(torch::nn::LayerNormOptions({D})));
    norm_action = register_module("norm_action", torch::nn::LayerNorm(torch::nn::LayerNormOptions({D})));
  }
  backbone = register_module("backbone", Backbone(config_.backbone));
  predict_action = register_module("predict_action", torch::nn::Linear(D, config_.act_dim));
}

torch::Tensor DecisionPolicyImpl::forward(const torch::Tensor& states, const torch::Tensor& actions,
                                          const torch::Tensor& returns_to_go_in, const torch::Tensor& timesteps,
                                          const torch::Tensor& mask, BackboneState* state,
                                          const torch::Tensor& previous_action) {
  const auto returns_to_go = condition(returns_to_go_in);
  const auto B = states.size(0), T = states.size(1), D = config_.backbone.d_model;
  TORCH_CHECK(states.dim() == 3 && states.size(2) == config_.state_dim, "decision policy: states must be [B, T, ",
              config_.state_dim, "], got ", states.sizes());
  TORCH_CHECK(actions.sizes() == torch::IntArrayRef({B, T, config_.act_dim}), "decision policy: actions must be [", B,
              ", ", T, ", ", config_.act_dim, "], got ", actions.sizes());
  const auto steps = timesteps.clamp(0, config_.max_ep_len - 1);
  const auto time = embed_timestep(steps);  // [B, T, D]
  // Token positions for a recency bias (the env step each token belongs to);
  // none otherwise, so acting pays nothing for the option.
  const bool positional = config_.backbone.recency > 0;
  const auto step_positions = positional ? steps.to(torch::kFloat) : torch::Tensor();  // [B, T]
  if (config_.tokens == TokenLayout::kFused) {
    // a_{t-1} per step: the actions shifted right by one.
    const auto first = previous_action.defined() ? previous_action.unsqueeze(1)
                                                 : torch::zeros({B, 1, config_.act_dim}, actions.options());
    const auto previous = torch::cat({first, actions.narrow(1, 0, T - 1)}, 1);  // [B, T, A]
    const auto tokens = fused_tokens(returns_to_go, states, previous, time);    // [B, T, D]
    return torch::tanh(predict_action(backbone->forward(tokens, mask, state, step_positions)));
  }
  const auto r = embed_return(returns_to_go.unsqueeze(-1)) + time;
  const auto s = embed_state(states) + time;
  const auto a = embed_action(actions) + time;
  // Interleave per step: (R_t, s_t, a_t) -> [B, 3T, D].
  const auto tokens = embed_ln(torch::stack({r, s, a}, 2).reshape({B, 3 * T, D}));
  torch::Tensor token_mask;
  if (mask.defined()) token_mask = mask.unsqueeze(2).expand({B, T, 3}).reshape({B, 3 * T});
  const auto positions =
      positional ? step_positions.unsqueeze(2).expand({B, T, 3}).reshape({B, 3 * T}) : torch::Tensor();
  const auto h = backbone->forward(tokens, token_mask, state, positions).reshape({B, T, 3, D});
  return torch::tanh(predict_action(h.select(2, 1)));  // read at the state tokens
}

torch::Tensor DecisionPolicyImpl::fused_tokens(const torch::Tensor& returns_to_go, const torch::Tensor& states,
                                               const torch::Tensor& previous_actions, const torch::Tensor& time) {
  auto r = embed_return(returns_to_go.unsqueeze(-1));
  auto s = embed_state(states);
  auto a = embed_action(previous_actions);
  if (norm_return) {
    // E_R(R) = w R + b is a line in R^D; normalised, it tends to LN(w) as R
    // grows, so conditioning far above the data stays one bounded input.
    // Under bf16 autocast the embeddings come out in bf16 and LibTorch's CPU
    // LayerNorm wants its input in its weights' type: normalise in that type
    // (fp32), as the interleaved layout's sum with the timestep embedding does.
    const auto type = time.scalar_type();
    r = norm_return(r.to(type)), s = norm_state(s.to(type)), a = norm_action(a.to(type));
  }
  return embed_ln(r + s + a + time);
}

// BC (condition_on_return false): the return input held at 0, in training and acting alike.
torch::Tensor DecisionPolicyImpl::condition(const torch::Tensor& returns_to_go) const {
  return config_.condition_on_return ? returns_to_go : torch::zeros_like(returns_to_go);
}

torch::Tensor DecisionPolicyImpl::act(const torch::Tensor& previous_actions, const torch::Tensor& return_to_go_in,
                                      const torch::Tensor& states, const torch::Tensor& timesteps,
                                      const torch::Tensor& first_step, BackboneState& state) {
  const auto return_to_go = condition(return_to_go_in);
  const auto B = states.size(0);
  const auto t = timesteps.clamp(0, config_.max_ep_len - 1);
  if (config_.tokens == TokenLayout::kFused) {
    const auto token = fused_tokens(return_to_go, states, previous_actions, embed_timestep(t));  // [B, D]
    const auto position = config_.backbone.recency > 0 ? t.to(torch::kFloat).unsqueeze(1) : torch::Tensor();
    return torch::tanh(predict_action(backbone->forward(token.unsqueeze(1), {}, &state, position).squeeze(1)));
  }
  const auto t_previous = (t - 1).clamp_min(0);  // a_{t-1} belongs to step t-1, as in training
  const auto a = embed_action(previous_actions) + embed_timestep(t_previous);
  const auto r = embed_return(return_to_go.unsqueeze(-1)) + embed_timestep(t);
  const auto s = embed_state(states) + embed_timestep(t);
  const auto tokens = embed_ln(torch::stack({a, r, s}, 1));  // [B, 3, D]
  torch::Tensor mask;                                        // none needed when no sequence is at its first step
  if (first_step.defined()) {
    const auto real = torch::ones({B}, first_step.options());
    mask = torch::stack({~first_step, real, real}, 1);
  }
  const auto positions =
      config_.backbone.recency > 0 ? torch::stack({t_previous, t, t}, 1).to(torch::kFloat) : torch::Tensor();  // [B, 3]
  const auto h = backbone->forward(tokens, mask, &state, positions);  // three recurrent updates
  return torch::tanh(predict_action(h.select(1, 2)));
}

}  // namespace aaren
