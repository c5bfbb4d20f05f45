#include "envs/vector_env.h"

#include <algorithm>
#include <cstring>

namespace aaren::envs {

ThreadPool::ThreadPool(int threads) {
  for (int w = 1; w < std::max(threads, 1); ++w) workers_.emplace_back([this, w] { work(w); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  start_.notify_all();
  for (auto& t : workers_) t.join();
}

namespace {
// Block of [0, n) handled by worker w of k.
std::pair<int64_t, int64_t> block(int64_t n, int w, int k) { return {n * w / k, n * (w + 1) / k}; }
}  // namespace

void ThreadPool::work(int worker) {
  uint64_t seen = 0;
  for (;;) {
    std::unique_lock<std::mutex> lock(mutex_);
    start_.wait(lock, [&] { return stop_ || generation_ != seen; });
    if (stop_) return;
    seen = generation_;
    const auto* job = job_;
    const int64_t n = n_;
    lock.unlock();
    const auto [begin, end] = block(n, worker, threads());
    for (int64_t i = begin; i < end; ++i) (*job)(i);
    lock.lock();
    if (--pending_ == 0) finished_.notify_one();
  }
}

void ThreadPool::run(int64_t n, const std::function<void(int64_t)>& fn) {
  if (workers_.empty() || n <= 1) {
    for (int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &fn;
    n_ = n;
    pending_ = static_cast<int>(workers_.size());
    ++generation_;
  }
  start_.notify_all();
  const auto [begin, end] = block(n, 0, threads());
  for (int64_t i = begin; i < end; ++i) fn(i);
  std::unique_lock<std::mutex> lock(mutex_);
  finished_.wait(lock, [&] { return pending_ == 0; });
}

VectorEnv::VectorEnv(const std::string& name, int64_t num_envs, const EnvOptions& options, uint64_t seed, int threads)
    : pool_(threads) {
  if (num_envs < 1) throw EnvError("vector env: need at least one env, got " + std::to_string(num_envs));
  for (int64_t i = 0; i < num_envs; ++i) {
    envs_.push_back(make_env(name, options));
    envs_.back()->seed(seed + static_cast<uint64_t>(i));
  }
  obs_dim_ = envs_[0]->obs_dim();
  act_dim_ = envs_[0]->act_dim();
  obs_.assign(num_envs * obs_dim_, 0.0);
  reached_obs_.assign(num_envs * obs_dim_, 0.0);
  rewards_.assign(num_envs, 0.0);
  returns_.assign(num_envs, 0.0);
  lengths_.assign(num_envs, 0);
  dones_.assign(num_envs, 0);
  active_.assign(num_envs, 1);
  results_.resize(num_envs);
}

void VectorEnv::seed_episodes(uint64_t base, int64_t stride) {
  seed_episodes_ = true;
  episode_seed_base_ = base;
  episode_seed_stride_ = stride;
  episodes_begun_.assign(envs_.size(), 0);
}

const std::vector<double>& VectorEnv::reset_env(int64_t i) {
  if (seed_episodes_)
    envs_[i]->seed(episode_seed_base_ + static_cast<uint64_t>(i + episode_seed_stride_ * episodes_begun_[i]++));
  return envs_[i]->reset();
}

void VectorEnv::reset() {
  pool_.run(size(), [&](int64_t i) {
    const auto& o = reset_env(i);
    std::copy(o.begin(), o.end(), obs_.begin() + i * obs_dim_);
    returns_[i] = 0.0;
    lengths_[i] = 0;
    dones_[i] = 0;
  });
}

void VectorEnv::step(const double* actions) {
  pool_.run(size(), [&](int64_t i) {
    dones_[i] = 0;
    rewards_[i] = 0.0;
    if (!active_[i]) return;
    auto& env = *envs_[i];
    results_[i] = env.step(actions + i * act_dim_, act_dim_);
    rewards_[i] = results_[i].reward;
    returns_[i] += rewards_[i];
    ++lengths_[i];
    dones_[i] = results_[i].done();
    const auto& reached = env.observation();
    std::copy(reached.begin(), reached.end(), reached_obs_.begin() + i * obs_dim_);
    const auto& o = dones_[i] ? reset_env(i) : reached;
    std::copy(o.begin(), o.end(), obs_.begin() + i * obs_dim_);
  });
  for (int64_t i = 0; i < size(); ++i) {
    if (!dones_[i]) continue;
    const auto& r = results_[i];
    finished_.push_back({i, returns_[i], lengths_[i], r.terminated, r.truncated, r.unstable, r.warning});
    returns_[i] = 0.0;
    lengths_[i] = 0;
  }
}

std::vector<EpisodeRecord> VectorEnv::take_finished() {
  std::vector<EpisodeRecord> out;
  out.swap(finished_);
  return out;
}

}  // namespace aaren::envs
