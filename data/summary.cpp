#include "data/summary.h"

#include <algorithm>
#include <cmath>

namespace aaren::data {

Stats stats_of(const std::vector<double>& v) {
  Stats s;
  if (v.empty()) return s;
  s.min = *std::min_element(v.begin(), v.end());
  s.max = *std::max_element(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / v.size();
  double sq = 0;
  for (double x : v) sq += (x - s.mean) * (x - s.mean);
  s.std = std::sqrt(sq / v.size());
  return s;
}

DatasetSummary summarize(const Transitions& t, const EpisodeSplit& split) {
  DatasetSummary s;
  s.transitions = t.size;
  s.obs_dim = t.obs_dim;
  s.act_dim = t.act_dim;
  s.partial_steps = split.partial_steps;
  s.partial_kept = split.partial_kept;
  s.has_timeouts = t.has_timeouts;
  if (!t.episode_starts.empty())
    s.episode_rule = "the file's episode groups";
  else if (split.step_limit > 0)
    s.episode_rule = "terminals or the " + std::to_string(split.step_limit) +
                     "-step limit (no 'timeouts' key: D4RL v0, as D4RL's sequence_dataset)";
  else
    s.episode_rule = "terminals or timeouts";
  std::vector<double> returns, lengths;
  for (const auto& e : split.episodes) {
    ++s.episodes;
    s.episodes_terminal += e.terminated;
    s.episodes_timeout += e.timed_out;
    returns.push_back(e.episode_return);
    lengths.push_back(static_cast<double>(e.length));
  }
  s.returns = stats_of(returns);
  s.lengths = stats_of(lengths);
  s.dtypes = t.dtypes;
  s.metadata = t.metadata;
  s.has_qpos = !t.qpos.empty();
  s.has_qvel = !t.qvel.empty();
  s.has_next_observations = !t.next_observations.empty();
  return s;
}

nlohmann::json DatasetSummary::to_json() const {
  return {{"transitions", transitions},
          {"obs_dim", obs_dim},
          {"act_dim", act_dim},
          {"episodes", episodes},
          {"episodes_terminal", episodes_terminal},
          {"episodes_timeout", episodes_timeout},
          {"partial_steps", partial_steps},
          {"partial_kept", partial_kept},
          {"has_timeouts", has_timeouts},
          {"episode_rule", episode_rule},
          {"return_min", returns.min},
          {"return_mean", returns.mean},
          {"return_max", returns.max},
          {"return_std", returns.std},
          {"length_min", lengths.min},
          {"length_mean", lengths.mean},
          {"length_max", lengths.max},
          {"has_next_observations", has_next_observations},
          {"has_qpos", has_qpos},
          {"has_qvel", has_qvel},
          {"dtypes", dtypes},
          {"metadata", metadata}};
}

}  // namespace aaren::data
