// Behaviour policies, the ones that made or can make a dataset: uniform random
// actions, or a SAC policy file from `aaren sac` acting deterministically (its
// mean action), behind one factory beside make_agent_policy.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "agents/acting/rollout.h"
#include "agents/training/sac.h"

namespace aaren {

// A SAC actor acting with its mean action, all envs in one batch.
class SacBatchPolicy : public BatchPolicy {
 public:
  explicit SacBatchPolicy(PolicyCheckpoint policy);
  void act(const envs::VectorEnv& envs, std::vector<double>& actions) override;

 private:
  PolicyCheckpoint policy_;
};

struct BehaviourPolicy {
  std::unique_ptr<BatchPolicy> policy;
  std::optional<PolicyCheckpoint> sac;  // the SAC file's contents (its env, sizes, step), when it is one
};

// "random": uniform actions in [-1, 1] drawn from `seed`; otherwise a SAC policy
// file (load_policy: throws std::runtime_error naming the file).
BehaviourPolicy make_behaviour_policy(const std::string& policy, uint64_t seed);

}  // namespace aaren
