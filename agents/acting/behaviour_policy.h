// Behaviour policies, the ones that made or can make a dataset: uniform random
// actions, or a SAC policy file from `aaren sac` acting deterministically (its
// mean action), behind one factory beside make_agent_policy.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "agents/acting/rollout.h"
#include "agents/checkpoint/policy_file.h"

namespace aaren {

// A SAC actor acting for all envs in one batch: its mean action (tanh of the
// Gaussian's mean), or with `sampled` an action drawn from its Gaussian with
// LibTorch's global generator (as `aaren collect` samples a dataset).
class SacBatchPolicy : public BatchPolicy {
 public:
  explicit SacBatchPolicy(const PolicyCheckpoint& policy);  // a policy file's actor, set to evaluation mode
  SacBatchPolicy(GaussianActor actor, bool sampled);        // a live actor (SAC's evaluation), its mode untouched
  void act(const envs::VectorEnv& envs, std::vector<double>& actions) override;

 private:
  GaussianActor actor_;
  bool sampled_ = false;
};

struct BehaviourPolicy {
  std::unique_ptr<BatchPolicy> policy;
  std::optional<PolicyCheckpoint> sac;  // the SAC file's contents (its env, sizes, step), when it is one
};

// "random": uniform actions in [-1, 1] drawn from `seed`; otherwise a SAC policy
// file (load_policy: throws std::runtime_error naming the file).
BehaviourPolicy make_behaviour_policy(const std::string& policy, uint64_t seed);

}  // namespace aaren
