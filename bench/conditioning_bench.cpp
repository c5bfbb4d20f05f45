#include "bench/conditioning_bench.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <ostream>
#include <random>
#include <stdexcept>

#include "agents/acting/acting.h"
#include "agents/checkpoint/checkpoint.h"
#include "agents/training/seed_summary.h"
#include "data/hdf5_io.h"
#include "data/trajectory_dataset.h"
#include "envs/registry.h"

namespace aaren::bench {

void ConditioningBenchConfig::validate() const {
  auto fail = [](const std::string& what) { throw std::invalid_argument(what); };
  if (checkpoints.empty()) fail("--checkpoint: name at least one checkpoint from 'aaren train'");
  if (dataset.empty()) fail("--dataset is required (the episodes to drive the agents along)");
  if (times.empty()) fail("--times: name at least one step");
  for (auto t : times)
    if (t < 0) fail("--times must be >= 0, got " + std::to_string(t));
  if (episodes <= 0) fail("--episodes must be > 0");
  if (!std::isfinite(target_high) || !std::isfinite(target_low) || target_high < 0 || target_low < 0)
    fail("--target-high and --target-low must be finite and >= 0 (0: DT's targets)");
  if (threads <= 0 || threads > 256) fail("--threads must be in [1, 256]");
}

const std::vector<base::ConfigField<ConditioningBenchConfig>>& ConditioningBenchConfig::fields() {
  using C = ConditioningBenchConfig;
  using base::field;
  static const std::vector<base::ConfigField<C>> table{
      field("checkpoint", &C::checkpoints, "agents from 'aaren train' (several after one flag, or the flag again)"),
      field("dataset", &C::dataset, "the episodes to drive them along (teacher forcing)"),
      field("times", &C::times, "env steps t at which to measure"),
      field("episodes", &C::episodes, "episodes longer than the largest t, drawn at random"),
      field("target-high", &C::target_high,
            "target return G for the derivatives (0: the env's DT target, e.g. hopper 3600)"),
      field("target-low", &C::target_low,
            "second target for the action shift (0: half of the high one, DT's second target)"),
      field("seed", &C::seed, "random seed (which episodes)"),
      field("threads", &C::threads, "LibTorch threads"),
  };
  return table;
}

nlohmann::json ConditioningBenchConfig::to_json() const { return base::fields_to_json(*this, fields()); }

namespace {

// Steps [first, t] of episode `e`, conditioned on target G (scaled): the
// model inputs, with R_j = G - (rewards before j) / scale.
struct Window {
  torch::Tensor states, actions, offsets, timesteps;  // [1, n, S], [1, n, A], [1, n], [1, n]
};

Window window_of(const data::TrajectoryDataset& d, const data::Episode& e, int64_t first, int64_t t,
                 const LoadedAgent& agent) {
  const int64_t n = t - first + 1, S = d.obs_dim(), A = d.act_dim();
  Window w;
  w.states = torch::empty({1, n, S});
  w.actions = torch::empty({1, n, A});
  w.offsets = torch::empty({1, n});
  w.timesteps = torch::empty({1, n}, torch::kInt64);
  const double scale = agent.config.return_scale;
  double before = 0;  // rewards of steps < j
  for (int64_t j = 0; j < first; ++j) before += d.reward(e.start + j);
  for (int64_t j = first; j <= t; ++j) {
    const int64_t i = e.start + j, k = j - first;
    std::copy(d.observation(i), d.observation(i) + S, w.states[0][k].data_ptr<float>());
    std::copy(d.action(i), d.action(i) + A, w.actions[0][k].data_ptr<float>());
    w.offsets[0][k] = static_cast<float>(before / scale);
    w.timesteps[0][k] = std::min<int64_t>(j, agent.config.max_ep_len - 1);
    before += d.reward(i);
  }
  w.states = agent.normalizer.apply(w.states);
  return w;
}

double norm(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x * x;
  return std::sqrt(s);
}

}  // namespace

ConditioningProbe probe_conditioning(LoadedAgent& agent, const data::TrajectoryDataset& d, int64_t episode,
                                     int64_t time, double target_high, double target_low) {
  const auto& e = d.episodes().at(episode);
  if (time < 0 || time >= e.length) throw std::invalid_argument("probe_conditioning: step outside the episode");
  const bool windowed = agent.config.evaluation_mode() == ActMode::kWindow;  // acts as DT does: the last K steps
  const int64_t first = windowed ? std::max<int64_t>(0, time - agent.config.context + 1) : 0;
  const auto w = window_of(d, e, first, time, agent);
  const int64_t n = w.states.size(1);
  const double scale = agent.config.return_scale;
  torch::AutoGradMode grad(true);
  // R_j = G - offsets_j (+ r at j = t): d/dG moves every return token, d/dr the current one.
  auto g = torch::full({}, target_high / scale, torch::requires_grad());
  auto r = torch::zeros({}, torch::requires_grad());
  auto last = torch::zeros({1, n});
  last[0][n - 1] = 1;
  const auto a = agent.model->forward(w.states, w.actions, g - w.offsets + r * last, w.timesteps)
                     .select(1, n - 1)
                     .squeeze(0);  // [A]
  ConditioningProbe out;
  std::vector<double> dg(a.size(0)), dr(a.size(0));
  for (int64_t j = 0; j < a.size(0); ++j) {
    const auto grads = torch::autograd::grad({a[j]}, {g, r}, {}, /*retain_graph=*/true);
    dg[j] = grads[0].item<double>(), dr[j] = grads[1].item<double>();
    out.action.push_back(a[j].item<double>());
  }
  out.d_target = norm(dg), out.d_current = norm(dr);
  torch::NoGradGuard no_grad;
  const auto a_low = agent.model->forward(w.states, w.actions, target_low / scale - w.offsets, w.timesteps)
                         .select(1, n - 1)
                         .squeeze(0);
  out.shift = (a.detach() - a_low).norm().item<double>();
  return out;
}

Table run_conditioning_bench(const ConditioningBenchConfig& config, std::ostream* progress) {
  config.validate();
  const auto file = data::read_episode_data(config.dataset);
  const data::TrajectoryDataset d(file.transitions, file.split);
  const int64_t t_max = *std::max_element(config.times.begin(), config.times.end());
  std::vector<int64_t> long_enough;
  for (int64_t k = 0; k < d.num_episodes(); ++k)
    if (d.episodes()[k].length > t_max) long_enough.push_back(k);
  if (long_enough.empty())
    throw std::invalid_argument(config.dataset + ": no episode is longer than --times' largest step " +
                                std::to_string(t_max) + " (longest: " + std::to_string(d.max_episode_length()) + ")");
  std::mt19937_64 rng(config.seed);
  std::shuffle(long_enough.begin(), long_enough.end(), rng);
  long_enough.resize(std::min<size_t>(long_enough.size(), config.episodes));

  Table table;
  table.columns = {"checkpoint", "backbone", "tokens",       "target_high", "target_low", "t",
                   "episodes",   "d_target", "d_target_std", "d_current",   "shift"};
  auto mean = [](const std::vector<double>& v) { return mean_and_std(v).first; };
  for (const auto& path : config.checkpoints) {
    auto agent = load_checkpoint(path);
    if (agent.model->config().state_dim != d.obs_dim() || agent.model->config().act_dim != d.act_dim())
      throw std::invalid_argument(path + ": trained on other state/action sizes than " + config.dataset);
    const double high = config.target_high > 0 ? config.target_high : envs::env_spec(agent.env).dt_target_high;
    const double low = config.target_low > 0 ? config.target_low : high / 2;
    for (int64_t time : config.times) {
      std::vector<double> d_target, d_current, shift;
      for (int64_t k : long_enough) {
        const auto p = probe_conditioning(agent, d, k, time, high, low);
        d_target.push_back(p.d_target), d_current.push_back(p.d_current), shift.push_back(p.shift);
      }
      // The spread over the episodes drawn, as a sample of the dataset's: divisor n - 1 (NaN for one episode).
      const auto [m, sd] = mean_and_std(d_target);
      table.add_row({path, to_string(agent.config.backbone), to_string(agent.config.tokens), high, low, time,
                     static_cast<int64_t>(d_target.size()), m, sd, mean(d_current), mean(shift)});
      if (progress) *progress << "[conditioning] " << path << " t=" << time << " done\n";
    }
  }
  return table;
}

}  // namespace aaren::bench
