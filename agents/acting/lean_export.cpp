#include "agents/acting/lean_export.h"

#include <stdexcept>

#include "agents/acting/acting.h"

namespace aaren {

namespace {
lean::FloatTensor to_float_tensor(const torch::Tensor& t) {
  const auto c = t.detach().to(torch::kFloat32).contiguous();
  lean::FloatTensor out;
  out.dims = c.sizes().vec();
  out.data.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  return out;
}
}  // namespace

lean::PolicyFile to_policy_file(const LoadedAgent& agent) {
  const auto& dc = agent.model->config();
  if (!descriptor(dc.backbone.kind).lean_runtime)
    throw std::invalid_argument("the lean runtime does not run " + std::string(to_string(dc.backbone.kind)) +
                                " policies; act with --runtime torch");
  if (dc.backbone.recency > 0)
    throw std::invalid_argument("the lean runtime has no recency bias yet; act with --runtime torch");
  if (!dc.condition_on_return)
    throw std::invalid_argument("the lean runtime conditions on the return; a BC control acts with --runtime torch");
  lean::PolicyFile f;
  const double target = acting_target_return(agent);
  f.header = {{"backbone", to_string(dc.backbone.kind)},
              {"tokens", to_string(dc.tokens)},
              {"fused_norm", dc.tokens == TokenLayout::kFused && dc.fused_norm ? "1" : "0"},
              {"env", agent.env},
              {"state_dim", std::to_string(dc.state_dim)},
              {"act_dim", std::to_string(dc.act_dim)},
              {"d_model", std::to_string(dc.backbone.d_model)},
              {"n_layers", std::to_string(dc.backbone.n_layers)},
              {"n_heads", std::to_string(dc.backbone.n_heads)},
              {"ff_dim", std::to_string(dc.backbone.ff_mult * dc.backbone.d_model)},
              {"max_ep_len", std::to_string(dc.max_ep_len)},
              {"return_scale", std::to_string(agent.config.return_scale)},
              {"target_return", std::to_string(target)},
              {"trained_updates", std::to_string(agent.update)}};
  for (const auto& p : agent.model->named_parameters()) f.tensors[p.key()] = to_float_tensor(p.value());
  f.tensors["state_mean"] = to_float_tensor(agent.normalizer.mean);
  f.tensors["state_inv_std"] = to_float_tensor(agent.normalizer.inv_std);
  return f;
}

std::shared_ptr<const lean::Model> lean_model_of(const LoadedAgent& agent, const std::string& name) {
  return std::make_shared<const lean::Model>(lean::Model::from_file(to_policy_file(agent), name));
}

LeanBatchPolicy::LeanBatchPolicy(std::shared_ptr<const lean::Model> model, double target_return, int64_t num_envs)
    : model_(std::move(model)) {
  for (int64_t i = 0; i < num_envs; ++i) policies_.emplace_back(model_, target_return);
}

void LeanBatchPolicy::act(const envs::VectorEnv& envs, std::vector<double>& actions) {
  const auto& obs = envs.observations();
  const int64_t S = model_->state_dim, A = model_->act_dim;
  for (size_t i = 0; i < policies_.size(); ++i)
    if (envs.active(i)) policies_[i].act(obs.data() + i * S, actions.data() + i * A);
}

void LeanBatchPolicy::observe(const envs::VectorEnv& envs) {
  for (size_t i = 0; i < policies_.size(); ++i)
    if (envs.active(i) || envs.dones()[i]) policies_[i].observe(envs.rewards()[i]);
}

void LeanBatchPolicy::act(const std::vector<double>& observations, std::vector<double>& actions) {
  const int64_t S = model_->state_dim, A = model_->act_dim;
  for (size_t i = 0; i < policies_.size(); ++i) policies_[i].act(observations.data() + i * S, actions.data() + i * A);
}

void LeanBatchPolicy::advance(const std::vector<double>& rewards) {
  for (size_t i = 0; i < policies_.size(); ++i) policies_[i].observe(rewards[i]);
}

int64_t LeanBatchPolicy::state_bytes() const {
  int64_t bytes = 0;
  for (const auto& p : policies_) bytes += p.state_bytes();
  return bytes;
}

}  // namespace aaren
