// A loaded agent turned into a policy that acts: the one place that decides
// the runtime (LibTorch or the lean runtime), the acting mode, the return it
// is conditioned on and how many envs step together. `aaren rollout`,
// `aaren compare`, training's evaluations and the benchmarks all go through it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agents/acting/decision_rollout.h"
#include "agents/acting/rollout.h"
#include "agents/checkpoint/checkpoint.h"
#include "runtime/lean_policy.h"

namespace aaren {

enum class Runtime {
  kLibTorch,  // the model as trained: every mode
  kLean,      // the LibTorch-free runtime (runtime/): backbones whose descriptor says so, recurrent
};
inline const char* to_string(Runtime r) { return r == Runtime::kLibTorch ? "torch" : "lean"; }
inline const std::vector<Runtime>& all_values(Runtime) {
  static const std::vector<Runtime> v{Runtime::kLibTorch, Runtime::kLean};
  return v;
}

struct ActingOptions {
  Runtime runtime = Runtime::kLibTorch;
  ActMode mode = ActMode::kRecurrent;
  double target_return = 0.0;  // 0: acting_target_return(agent)
  int64_t num_envs = 1;        // slots stepped together
  // Evaluations: the model computes kEvaluationRows rows whatever num_envs is
  // (up to that many; the rest are padding), so an episode's actions, and so
  // its return, are the same bits with 1 env or 16. OpenBLAS computes a row of
  // a product with other code for other row counts (measured: every row of a
  // 1-row product differs in its last bits from the same row of a 16-row one,
  // for each of its kernel sets). Off for the benchmarks, which time batch 1.
  bool batch_invariant = false;
  // kLean: the agent already converted (lean_model_of), for callers that make
  // many policies from one agent; empty: converted here.
  std::shared_ptr<const lean::Model> lean_model;
};

// The return an agent is conditioned on: `requested` unless it is 0, else the
// agent's evaluation target (its training config's, else its env's DT target).
double acting_target_return(const LoadedAgent& agent, double requested = 0.0);

constexpr int64_t kEvaluationRows = 16;

// Envs stepped together for `episodes` episodes: `requested` (0: up to 16),
// never more than the episodes. For a trained agent's episodes (`agent`), a
// count at which every episode computes in its own row of the evaluation batch
// (batch_invariant, below), so that they are the same bits with any count: at
// most kEvaluationRows, and for more episodes than that a divisor of it (a
// request for 3 envs steps 4, for 12 steps 16). Episode e computes in row
// e mod 16; env i runs episodes i, i + n, ..., which no other env shares modulo
// 16 when n divides 16 (with 16 episodes or fewer every row is an episode's own).
int64_t acting_num_envs(int64_t requested, int64_t episodes, bool agent = false);

// Throws std::invalid_argument for a combination that cannot act (the lean
// runtime with a Transformer, or in another mode than recurrent; kvcache for
// Aaren). `name` labels errors.
std::unique_ptr<AgentPolicy> make_agent_policy(const LoadedAgent& agent, const ActingOptions& options,
                                               const std::string& name);

// Evaluates `agent` for `episodes` episodes (seeds from `seed`) at
// `target_return` (0: its own), in `mode`, with acting_num_envs(num_envs).
// The references an agent's scores use: those its training resolved (its
// dataset's own), or nullopt (older checkpoints): the env's.
std::optional<envs::ScoreReference> agent_score_reference(const LoadedAgent& agent);

RolloutResult evaluate_agent(const LoadedAgent& agent, double target_return, ActMode mode, int64_t episodes,
                             uint64_t seed, int64_t num_envs = 0);

}  // namespace aaren
