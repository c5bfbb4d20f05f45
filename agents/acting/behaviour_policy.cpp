#include "agents/acting/behaviour_policy.h"

#include <torch/torch.h>

#include <algorithm>

namespace aaren {

SacBatchPolicy::SacBatchPolicy(const PolicyCheckpoint& policy) : actor_(policy.actor) { actor_->eval(); }

SacBatchPolicy::SacBatchPolicy(GaussianActor actor, bool sampled) : actor_(std::move(actor)), sampled_(sampled) {}

void SacBatchPolicy::act(const envs::VectorEnv& envs, std::vector<double>& actions) {
  torch::NoGradGuard no_grad;
  const auto& obs = envs.observations();
  const auto x = torch::tensor(std::vector<float>(obs.begin(), obs.end())).view({envs.size(), envs.obs_dim()});
  const auto a = (sampled_ ? actor_->sample(x).first : actor_->deterministic(x)).to(torch::kDouble).contiguous();
  std::copy(a.data_ptr<double>(), a.data_ptr<double>() + a.numel(), actions.begin());
}

BehaviourPolicy make_behaviour_policy(const std::string& policy, uint64_t seed) {
  BehaviourPolicy made;
  if (policy == "random") {
    made.policy = std::make_unique<RandomPolicy>(seed);
    return made;
  }
  made.sac = load_policy(policy);
  made.policy = std::make_unique<SacBatchPolicy>(*made.sac);
  return made;
}

}  // namespace aaren
