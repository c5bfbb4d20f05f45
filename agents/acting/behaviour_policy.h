// Behaviour policies, the ones that made or can make a dataset: uniform random
// actions or a SAC policy file from `aaren sac` (its mean action, or sampled),
// behind one factory beside make_agent_policy, and stored actions played back
// (collect --actions). `aaren rollout`, `aaren collect` and SAC's evaluation
// act through them.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agents/acting/rollout.h"
#include "agents/checkpoint/policy_file.h"

namespace aaren {

// A SAC actor acting for all envs in one batch: its mean action (tanh of the
// Gaussian's mean), or with `sampled` an action drawn from its Gaussian with
// LibTorch's global generator (as `aaren collect` samples a dataset).
class SacBatchPolicy : public BatchPolicy {
 public:
  // A policy file's actor, set to evaluation mode (it has no dropout or batch
  // norm: the same actions, stated), or a live actor (SAC's evaluation).
  explicit SacBatchPolicy(const PolicyCheckpoint& policy, bool sampled = false);
  SacBatchPolicy(GaussianActor actor, bool sampled);
  void act(const envs::VectorEnv& envs, std::vector<double>& actions) override;

 private:
  GaussianActor actor_;
  bool sampled_ = false;
};

// Actions stored in a file, played back in order in one env (`aaren collect
// --actions`: a SAC run's own actions, which give its replay buffer again).
class StoredActionsPolicy : public BatchPolicy {
 public:
  explicit StoredActionsPolicy(std::vector<float> actions) : actions_(std::move(actions)) {}
  void act(const envs::VectorEnv& envs, std::vector<double>& actions) override;

 private:
  std::vector<float> actions_;  // [steps * act_dim]
  size_t next_ = 0;             // the first value of the next step's action
};

struct BehaviourPolicy {
  std::unique_ptr<BatchPolicy> policy;
  std::optional<PolicyCheckpoint> sac;  // the SAC file's contents (its env, sizes, step), when it is one
  RandomPolicy* random = nullptr;       // `policy`, when it is the random one
};

// "random": uniform actions in [-1, 1] drawn from `seed`; otherwise a SAC policy
// file (load_policy: throws std::runtime_error naming the file), acting by its
// mean action or, `sampled`, drawing from its Gaussian (LibTorch's generator).
BehaviourPolicy make_behaviour_policy(const std::string& policy, uint64_t seed, bool sampled = false);

}  // namespace aaren
