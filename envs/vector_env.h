// N environments stepped together: batched observations and actions,
// automatic reset, per-env episode returns, spread over a persistent pool of
// threads (each env is only ever touched by one thread at a time).
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "envs/registry.h"

namespace aaren::envs {

// A fixed set of worker threads that run `fn(i)` for i in [0, n), split into
// contiguous blocks; run() returns when all are done. threads = 1 runs inline.
class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  void run(int64_t n, const std::function<void(int64_t)>& fn);
  int threads() const { return static_cast<int>(workers_.size()) + 1; }

 private:
  void work(int worker);
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable start_, finished_;
  const std::function<void(int64_t)>* job_ = nullptr;
  int64_t n_ = 0;
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
};

struct EpisodeRecord {
  int64_t env_index = 0;
  double episode_return = 0.0;
  int64_t length = 0;
  bool terminated = false, truncated = false, unstable = false;
  std::string warning;
  int64_t episode = 0;  // its number in a rollout (run_rollout sets it)
};

class VectorEnv {
 public:
  // Env i is seeded with seed + i.
  VectorEnv(const std::string& name, int64_t num_envs, const EnvOptions& options, uint64_t seed, int threads = 1);

  int64_t size() const { return static_cast<int64_t>(envs_.size()); }
  int64_t obs_dim() const { return obs_dim_; }
  int64_t act_dim() const { return act_dim_; }
  const Env& env(int64_t i) const { return *envs_[i]; }

  // From now on env i's k-th episode (k = 0, 1, ...) starts from a reset
  // seeded with base + i + k * stride: with stride = size(), episode number
  // e = i + k * size() has seed base + e, so an evaluation's episodes are the
  // same whatever the number of envs (run_rollout's order of episodes).
  void seed_episodes(uint64_t base, int64_t stride);

  // Resets every env; observations() then holds the first observations.
  void reset();
  // actions: [size * act_dim]. Steps the envs marked active (all by default);
  // an env whose episode ended is reset at once, its episode is recorded, and
  // observations() holds the new episode's first observation for it.
  void step(const double* actions);
  // [size * obs_dim]
  const std::vector<double>& observations() const { return obs_; }
  const std::vector<double>& rewards() const { return rewards_; }
  const std::vector<uint8_t>& dones() const { return dones_; }  // episode ended in the last step
  // The last step of each env as its env returned it (terminated, truncated), and
  // [size * obs_dim] the observations that step reached: for an env whose
  // episode ended, its last observation, before the reset (gym's
  // final_observation; a dataset's next_observations). An env left out of the
  // last step (set_active) keeps the values of its own last step.
  const std::vector<StepResult>& step_results() const { return results_; }
  const std::vector<double>& reached_observations() const { return reached_obs_; }
  // Steps taken in the current episode of each env.
  const std::vector<int64_t>& episode_steps() const { return lengths_; }
  // Envs left out of step() (their state is kept as it is).
  void set_active(int64_t i, bool active) { active_[i] = active; }
  bool active(int64_t i) const { return active_[i] != 0; }
  // Episodes that ended since the last call, in env order within a step.
  std::vector<EpisodeRecord> take_finished();
  int threads() const { return pool_.threads(); }

 private:
  const std::vector<double>& reset_env(int64_t i);  // reseeded first when seed_episodes is on

  std::vector<std::unique_ptr<Env>> envs_;
  bool seed_episodes_ = false;
  uint64_t episode_seed_base_ = 0;
  int64_t episode_seed_stride_ = 1;
  std::vector<int64_t> episodes_begun_;  // per env, under seed_episodes
  int64_t obs_dim_, act_dim_;
  std::vector<double> obs_, reached_obs_, rewards_, returns_;
  std::vector<int64_t> lengths_;
  std::vector<uint8_t> dones_, active_;
  std::vector<StepResult> results_;
  std::vector<EpisodeRecord> finished_;
  ThreadPool pool_;
};

}  // namespace aaren::envs
