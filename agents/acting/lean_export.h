// From LibTorch to the lean runtime: a trained Aaren agent as a lean policy
// file (`aaren export`), and a BatchPolicy that rolls lean policies out in
// vectorised envs (`aaren rollout --runtime lean`).
#pragma once

#include <memory>
#include <vector>

#include "agents/acting/rollout.h"
#include "agents/checkpoint/checkpoint.h"
#include "runtime/lean_policy.h"

namespace aaren {

// Every parameter of the agent's model by its LibTorch name, the state
// normalisation, and a header with the sizes. Throws std::invalid_argument
// for a Transformer agent (the runtime runs Aaren).
lean::PolicyFile to_policy_file(const LoadedAgent& agent);

// The agent as the lean runtime runs it, without a file in between (`name`
// labels errors). Throws as to_policy_file, or lean::PolicyFileError.
std::shared_ptr<const lean::Model> lean_model_of(const LoadedAgent& agent, const std::string& name);

// One lean policy per env slot, sharing the weights. target_return 0: the
// model's own target.
class LeanBatchPolicy : public AgentPolicy {
 public:
  LeanBatchPolicy(std::shared_ptr<const lean::Model> model, double target_return, int64_t num_envs);
  void begin_episode(int64_t slot) override { policies_[slot].reset(); }
  void act(const envs::VectorEnv& envs, std::vector<double>& actions) override;
  void observe(const envs::VectorEnv& envs) override;
  void act(const std::vector<double>& observations, std::vector<double>& actions) override;
  void advance(const std::vector<double>& rewards) override;
  // Constant over an episode: the scan state does not grow.
  int64_t state_bytes() const override;
  int64_t peak_state_bytes() const override { return state_bytes(); }

 private:
  std::shared_ptr<const lean::Model> model_;
  std::vector<lean::Policy> policies_;
};

}  // namespace aaren
