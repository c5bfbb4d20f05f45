// Running a policy in vectorised environments for a fixed number of episodes:
// used by `aaren rollout`, training's evaluation, `aaren collect` and the
// benchmarks. No LibTorch here: policies bring their own.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "envs/registry.h"
#include "envs/vector_env.h"

namespace aaren {

// A policy acting for a batch of envs at once.
class BatchPolicy {
 public:
  virtual ~BatchPolicy() = default;
  // Env `slot` starts a new episode (called after every reset).
  virtual void begin_episode(int64_t slot) {}
  // actions [num_envs * act_dim] for the current observations of the active
  // envs (inactive slots may be left as they are).
  virtual void act(const envs::VectorEnv& envs, std::vector<double>& actions) = 0;
  // After each vectorised step (rewards, dones are in `envs`).
  virtual void observe(const envs::VectorEnv& envs) {}
};

// A trained agent acting in `num_envs` slots. Beside the env-driven calls it
// can be driven without envs, as the benchmarks do with synthetic input.
class AgentPolicy : public BatchPolicy {
 public:
  using BatchPolicy::act;
  // observations [num_envs * S] -> actions [num_envs * A], every slot.
  virtual void act(const std::vector<double>& observations, std::vector<double>& actions) = 0;
  // Every slot took its action and got rewards [num_envs].
  virtual void advance(const std::vector<double>& rewards) = 0;
  // Bytes the policy keeps between env steps, now and at most so far.
  virtual int64_t state_bytes() const = 0;
  virtual int64_t peak_state_bytes() const = 0;
};

// Uniform actions in [-1, 1].
class RandomPolicy : public BatchPolicy {
 public:
  explicit RandomPolicy(uint64_t seed) : rng_(seed) {}
  void act(const envs::VectorEnv& envs, std::vector<double>& actions) override;
  // Its generator, for draws that must follow each step's actions in the same
  // stream (`aaren collect --noise` on random actions, as its datasets were made).
  std::mt19937_64& generator() { return rng_; }

 private:
  std::mt19937_64 rng_;
};

struct RolloutConfig {
  std::string env = "hopper";  // any name the registry accepts
  envs::EnvOptions env_options;
  int64_t episodes = 10;
  int64_t num_envs = 0;  // envs stepped together; 0: min(episodes, 16)
  int threads = 1;       // threads stepping the envs
  uint64_t seed = 0;     // episode e (0, 1, ...) starts from a reset seeded with seed + e
  // false: env i is seeded once, with seed + i, and each reset continues its
  // random stream (gym's env.seed(s) once, then reset() per episode), as
  // `aaren collect` and SAC's evaluation have always stepped their one env.
  bool seed_each_episode = true;
  // > 0: one env (num_envs must be 0 or 1) keeps stepping until it has taken
  // this many steps and finished `episodes` episodes (0 allowed); the last
  // episode may be cut short (`aaren collect --transitions`).
  int64_t min_env_steps = 0;
  // The normalised score's references: an agent's (its dataset's own), else
  // (empty) the env row's.
  std::optional<envs::ScoreReference> reference;
};

struct RolloutResult {
  std::vector<envs::EpisodeRecord> episodes;  // episode 0, 1, ... (seed + 0, seed + 1, ...)
  envs::ScoreReference reference;             // for normalised scores
  int64_t env_steps = 0;
  double seconds = 0.0;         // wall time of the whole rollout (env creation included)
  double env_seconds = 0.0;     // time inside the vectorised env steps
  double policy_seconds = 0.0;  // time inside the policy (act + observe)

  std::vector<double> returns() const;
  std::vector<double> lengths() const;
  std::vector<double> normalized_scores() const;
};

// A policy's action value that is NaN or infinite, found before any env is stepped with it.
// Its message says which value, env, episode and step, the step counted from 0 ("the policy's
// action[0] is NaN (env 2, episode 5, step 17): no env was stepped with it"); callers that know
// where the policy came from (a checkpoint, a policy file, a training run) put that in front.
// An EnvError, so that a caller that knows no more reports it as any other refused rollout.
struct NonFiniteActionError : envs::EnvError {
  using envs::EnvError::EnvError;
};

// Env i runs episodes i, i + n, i + 2n, ... until `episodes` are done, so the
// set of episodes does not depend on which ones end first; episode e starts
// from a reset seeded with seed + e, so it is the same episode whatever n is.
// With seed_each_episode false, env i is seeded once (seed + i) and its episodes
// follow from its own stream instead. With min_env_steps (one env) it also
// steps until that many steps; `episodes` then lists every finished one.
// `progress` (may be empty) is called after every finished episode with the
// episodes asked as its total (0 under a step budget without episodes).
// `watch` (may be empty) sees the envs after the reset and after every step
// (e.g. envs::EpisodeVideo). An action that is not finite throws NonFiniteActionError.
RolloutResult run_rollout(const RolloutConfig& config, BatchPolicy& policy,
                          const std::function<void(int64_t done, int64_t total)>& progress = {},
                          const std::function<void(const envs::VectorEnv&)>& watch = {});

double mean_of(const std::vector<double>& v);
// The sample standard deviation (divisor n - 1), the spread of the episodes as a sample of the
// policy's returns; 0 for fewer than two values (no spread measured). DT's and D4RL's evaluation
// code print numpy's np.std, the population std (divisor n): sqrt((n - 1) / n) times this.
double std_of(const std::vector<double>& v);

}  // namespace aaren
