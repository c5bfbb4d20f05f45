#include "agents/acting/behaviour_policy.h"

#include <torch/torch.h>

#include <algorithm>
#include <stdexcept>

namespace aaren {

SacBatchPolicy::SacBatchPolicy(const PolicyCheckpoint& policy, bool sampled) : actor_(policy.actor), sampled_(sampled) {
  actor_->eval();
}

SacBatchPolicy::SacBatchPolicy(GaussianActor actor, bool sampled) : actor_(std::move(actor)), sampled_(sampled) {}

void SacBatchPolicy::act(const envs::VectorEnv& envs, std::vector<double>& actions) {
  torch::NoGradGuard no_grad;
  const auto& obs = envs.observations();
  const auto x = torch::tensor(std::vector<float>(obs.begin(), obs.end())).view({envs.size(), envs.obs_dim()});
  const auto a = (sampled_ ? actor_->sample(x).first : actor_->deterministic(x)).to(torch::kDouble).contiguous();
  std::copy(a.data_ptr<double>(), a.data_ptr<double>() + a.numel(), actions.begin());
}

void StoredActionsPolicy::act(const envs::VectorEnv& envs, std::vector<double>& actions) {
  const size_t width = static_cast<size_t>(envs.act_dim());
  if (envs.size() != 1 || next_ + width > actions_.size())
    throw std::logic_error("StoredActionsPolicy: one env, and no more steps than the stored actions");
  std::copy(actions_.begin() + next_, actions_.begin() + next_ + width, actions.begin());
  next_ += width;
}

BehaviourPolicy make_behaviour_policy(const std::string& policy, uint64_t seed, bool sampled) {
  BehaviourPolicy made;
  if (policy == "random") {
    auto random = std::make_unique<RandomPolicy>(seed);
    made.random = random.get();
    made.policy = std::move(random);
    return made;
  }
  made.sac = load_policy(policy);
  made.policy = std::make_unique<SacBatchPolicy>(*made.sac, sampled);
  return made;
}

}  // namespace aaren
