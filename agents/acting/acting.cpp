#include "agents/acting/acting.h"

#include <algorithm>
#include <stdexcept>

#include "agents/acting/lean_export.h"
#include "envs/registry.h"

namespace aaren {

double acting_target_return(const LoadedAgent& agent, double requested) {
  if (requested != 0.0) return requested;
  if (agent.config.target_return != 0.0) return agent.config.target_return;
  return envs::env_spec(agent.env).dt_target_high;
}

int64_t acting_num_envs(int64_t requested, int64_t episodes, bool agent) {
  int64_t n = std::min<int64_t>(requested > 0 ? requested : 16, std::max<int64_t>(episodes, 1));
  if (!agent) return n;
  n = std::min(n, kEvaluationRows);
  if (episodes > kEvaluationRows)  // episodes e and e + 16 could run at once on two envs
    while (kEvaluationRows % n != 0) ++n;
  return n;
}

std::unique_ptr<AgentPolicy> make_agent_policy(const LoadedAgent& agent, const ActingOptions& options,
                                               const std::string& name) {
  const double target = acting_target_return(agent, options.target_return);
  if (options.runtime == Runtime::kLean) {
    if (options.mode != ActMode::kRecurrent)
      throw std::invalid_argument("the lean runtime acts recurrently only (--mode recurrent)");
    auto model = options.lean_model ? options.lean_model : lean_model_of(agent, name);
    return std::make_unique<LeanBatchPolicy>(model, target, options.num_envs);
  }
  const int64_t rows = options.batch_invariant ? std::max(options.num_envs, kEvaluationRows) : 0;
  return std::make_unique<DecisionBatchPolicy>(agent.model, agent.normalizer, agent.config.return_scale, target,
                                               options.mode, options.num_envs, rows);
}

std::optional<envs::ScoreReference> agent_score_reference(const LoadedAgent& agent) {
  const auto& r = agent.config.score_references;
  if (r.size() != 2) return std::nullopt;
  return envs::ScoreReference{envs::env_spec(agent.env).name, r[0], r[1]};
}

RolloutResult evaluate_agent(const LoadedAgent& agent, double target_return, ActMode mode, int64_t episodes,
                             uint64_t seed, int64_t num_envs) {
  RolloutConfig rc;
  rc.env = agent.env;
  rc.reference = agent_score_reference(agent);
  rc.episodes = episodes;
  rc.num_envs = acting_num_envs(num_envs, episodes, true);
  rc.seed = seed;
  DecisionPolicy model = agent.model;  // a handle to the same weights (the agent is const, its model is not)
  const bool was_training = model->is_training();
  model->eval();
  ActingOptions options;
  options.mode = mode;
  options.target_return = target_return;
  options.num_envs = rc.num_envs;
  options.batch_invariant = true;
  auto policy = make_agent_policy(agent, options, "agent");
  auto result = run_rollout(rc, *policy);
  if (was_training) model->train();
  return result;
}

}  // namespace aaren
