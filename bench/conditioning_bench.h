// `aaren bench conditioning`: how strongly a trained decision agent's action
// responds to its return conditioning, early and late in an episode.
//
// Each agent is driven along real dataset episodes (teacher forcing: the
// dataset's states and actions), conditioned as when acting on a target G:
// R_j = (G - sum_{i<j} r_i) / scale. At step t it sees what it would see when
// acting: Aaren the whole prefix (its recurrent state), the Transformer DT's
// window of the last K steps. Measured at each t, averaged over episodes:
//   d_target  = || d a_t / d G ||       (G moves every R token, as a new target does)
//   d_current = || d a_t / d R_t ||     (the current return-to-go token alone)
//   shift     = || a_t(G_high) - a_t(G_low) ||   (DT's two targets)
// with G in units of the return scale (derivatives per 1000 return by default).
// Aaren's prefix average over the whole episode is one learned query per
// layer: if the return tokens' weight shrinks as the episode grows, d_target
// falls with t while the windowed Transformer's does not.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "base/config_fields.h"
#include "bench/report.h"

namespace aaren {
struct LoadedAgent;
namespace data {
class TrajectoryDataset;
}
}  // namespace aaren

namespace aaren::bench {

struct ConditioningBenchConfig {
  std::vector<std::string> checkpoints;  // from `aaren train`
  std::string dataset;                   // episodes to drive the agents along
  std::vector<int64_t> times{5, 100, 500};
  int64_t episodes = 20;     // episodes longer than the largest time, drawn at random
  double target_high = 0.0;  // 0: the env's DT target (hopper 3600, ...)
  double target_low = 0.0;   // 0: half of it (DT's second target)
  uint64_t seed = 0;
  int threads = 1;

  void validate() const;  // throws std::invalid_argument naming the flag
  // Each setting described once: its flag, JSON key and help (the command's
  // --help, the config written beside its CSV, docs/CLI-REFERENCE.md).
  static const std::vector<base::ConfigField<ConditioningBenchConfig>>& fields();
  nlohmann::json to_json() const;
};

// One agent at step t of dataset episode `episode`, targets in env return units.
struct ConditioningProbe {
  double d_target = 0, d_current = 0, shift = 0;
  std::vector<double> action;  // a_t at target_high
};
ConditioningProbe probe_conditioning(LoadedAgent& agent, const data::TrajectoryDataset& dataset, int64_t episode,
                                     int64_t t, double target_high, double target_low);

// Columns: checkpoint, backbone, tokens, t, episodes, d_target, d_current, shift
// (means over episodes) and d_target_std (the sample std over episodes, divisor n - 1).
Table run_conditioning_bench(const ConditioningBenchConfig& config, std::ostream* progress);

}  // namespace aaren::bench
