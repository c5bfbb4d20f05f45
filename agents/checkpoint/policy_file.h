// A SAC policy file: the actor's weights with its env, sizes, training step
// and evaluation return, in one sealed archive (sealed_archive.h). Written by
// `aaren sac`, read by `aaren collect --policy FILE` and `aaren rollout --policy FILE`.
#pragma once

#include <cstdint>
#include <string>

#include "agents/models/gaussian_actor.h"

namespace aaren {

// A saved SAC policy, as `aaren collect --policy FILE` loads it.
struct PolicyCheckpoint {
  GaussianActor actor{nullptr};
  std::string env;
  int64_t obs_dim = 0, act_dim = 0, hidden = 0, step = 0;
  // The run's latest evaluation when the policy was saved, and the env step it
  // was made at: a policy saved between evaluations (--save-policy-steps) was
  // not itself evaluated, so eval_step < step.
  static constexpr int64_t kNoEvaluation = -1;  // the run had not evaluated yet
  static constexpr int64_t kNotRecorded = -2;   // a file written before the step was recorded
  double eval_return = 0.0;
  int64_t eval_step = kNoEvaluation;
};

// How a policy file's evaluation reads in a dataset's metadata: its own
// evaluation, or the run's latest before it, named as such.
std::string describe_evaluation(const PolicyCheckpoint& policy);
void save_policy(const std::string& path, const PolicyCheckpoint& policy);  // atomic
PolicyCheckpoint load_policy(const std::string& path);                      // throws std::runtime_error naming the file

}  // namespace aaren
