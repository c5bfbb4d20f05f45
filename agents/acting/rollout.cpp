#include "agents/acting/rollout.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "base/clock.h"

namespace aaren {

void RandomPolicy::act(const envs::VectorEnv& envs, std::vector<double>& actions) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  for (auto& a : actions) a = u(rng_);
}

std::vector<double> RolloutResult::returns() const {
  std::vector<double> v;
  for (const auto& e : episodes) v.push_back(e.episode_return);
  return v;
}

std::vector<double> RolloutResult::lengths() const {
  std::vector<double> v;
  for (const auto& e : episodes) v.push_back(static_cast<double>(e.length));
  return v;
}

std::vector<double> RolloutResult::normalized_scores() const {
  std::vector<double> v;
  for (const auto& e : episodes) v.push_back(reference.normalize(e.episode_return));
  return v;
}

double mean_of(const std::vector<double>& v) {
  if (v.empty()) return 0.0;
  double s = 0;
  for (double x : v) s += x;
  return s / v.size();
}

double std_of(const std::vector<double>& v) {
  if (v.size() < 2) return 0.0;
  const double m = mean_of(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

namespace {
// Throws NonFiniteActionError at the first active env's action value that is NaN or infinite.
// A policy's weights or state past float's range (a damaged file, a run that diverged) give
// such actions; MuJoCo would refuse them too, but without saying whose action it was.
void require_finite_actions(const envs::VectorEnv& venv, const std::vector<double>& actions,
                            const std::vector<std::vector<envs::EpisodeRecord>>& per_env) {
  const int64_t slots = venv.size(), act_dim = venv.act_dim();
  for (int64_t i = 0; i < slots; ++i) {
    if (!venv.active(i)) continue;
    for (int64_t k = 0; k < act_dim; ++k) {
      const double a = actions[static_cast<size_t>(i * act_dim + k)];
      if (std::isfinite(a)) continue;
      const auto episode = i + static_cast<int64_t>(per_env[static_cast<size_t>(i)].size()) * slots;
      throw NonFiniteActionError("the policy's action[" + std::to_string(k) + "] is " +
                                 (std::isnan(a) ? "NaN"
                                  : a > 0       ? "inf"
                                                : "-inf") +
                                 " (env " + std::to_string(i) + ", episode " + std::to_string(episode) + ", step " +
                                 std::to_string(venv.episode_steps()[static_cast<size_t>(i)]) +
                                 "): no env was stepped with it");
    }
  }
}
}  // namespace

RolloutResult run_rollout(const RolloutConfig& config, BatchPolicy& policy,
                          const std::function<void(int64_t, int64_t)>& progress,
                          const std::function<void(const envs::VectorEnv&)>& watch) {
  const bool budget = config.min_env_steps > 0;
  if (config.min_env_steps < 0) throw envs::EnvError("rollout: the step budget must be >= 0");
  if (config.episodes < (budget ? 0 : 1))
    throw envs::EnvError("rollout: episodes must be >= 1 (>= 0 with a step budget)");
  if (budget && config.num_envs > 1) throw envs::EnvError("rollout: a step budget runs one env");
  const int64_t n = budget ? 1 : config.num_envs > 0 ? config.num_envs : std::min<int64_t>(config.episodes, 16);
  RolloutResult result;
  result.reference = config.reference ? *config.reference : envs::score_reference(config.env);
  const double start = base::now_seconds();
  envs::VectorEnv venv(config.env, budget ? 1 : std::min(n, config.episodes), config.env_options, config.seed,
                       config.threads);
  const int64_t slots = venv.size();
  // Episode e: seed + e, whatever the number of envs.
  if (config.seed_each_episode) venv.seed_episodes(config.seed, slots);
  std::vector<int64_t> quota(slots), done(slots, 0);
  for (int64_t i = 0; i < slots; ++i) quota[i] = config.episodes / slots + (i < config.episodes % slots ? 1 : 0);
  if (budget) quota[0] = std::numeric_limits<int64_t>::max();  // the loop's condition ends it
  std::vector<std::vector<envs::EpisodeRecord>> per_env(slots);

  venv.reset();
  if (watch) watch(venv);
  for (int64_t i = 0; i < slots; ++i) policy.begin_episode(i);
  std::vector<double> actions(slots * venv.act_dim(), 0.0);
  int64_t finished = 0;
  while (finished < config.episodes || result.env_steps < config.min_env_steps) {
    double t0 = base::now_seconds();
    policy.act(venv, actions);
    result.policy_seconds += base::now_seconds() - t0;
    require_finite_actions(venv, actions, per_env);
    t0 = base::now_seconds();
    venv.step(actions.data());
    result.env_seconds += base::now_seconds() - t0;
    if (watch) watch(venv);
    for (int64_t i = 0; i < slots; ++i) result.env_steps += venv.active(i) ? 1 : 0;
    t0 = base::now_seconds();
    policy.observe(venv);
    result.policy_seconds += base::now_seconds() - t0;
    for (auto& e : venv.take_finished()) {
      const int64_t i = e.env_index;
      per_env[i].push_back(std::move(e));
      ++finished;
      if (++done[i] >= quota[i]) {
        venv.set_active(i, false);
      } else {
        policy.begin_episode(i);
      }
      if (progress) progress(finished, config.episodes);
    }
  }
  // In episode order: env i's k-th episode is episode i + k * slots.
  result.episodes.resize(static_cast<size_t>(finished));
  for (int64_t i = 0; i < slots; ++i)
    for (size_t k = 0; k < per_env[i].size(); ++k) {
      const int64_t episode = i + static_cast<int64_t>(k) * slots;
      per_env[i][k].episode = episode;
      result.episodes[static_cast<size_t>(episode)] = std::move(per_env[i][k]);
    }
  result.seconds = base::now_seconds() - start;
  return result;
}

}  // namespace aaren
