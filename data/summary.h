// What `aaren data inspect` reports about a file.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "data/transitions.h"

namespace aaren::data {

// `std` is the population standard deviation (divisor n): a file's episodes are the whole set it
// describes, as D4RL's dataset statistics (np.std) are. A rollout's episodes are a sample of a
// policy's, and there the spread is the sample std (agents/acting/rollout.h, std_of).
struct Stats {
  double min = 0, mean = 0, max = 0, std = 0;
};
Stats stats_of(const std::vector<double>& values);

struct DatasetSummary {
  int64_t transitions = 0, obs_dim = 0, act_dim = 0;
  int64_t episodes = 0, episodes_terminal = 0, episodes_timeout = 0;
  int64_t partial_steps = 0;  // trailing steps without an episode end
  bool partial_kept = false;
  bool has_timeouts = false;
  std::string episode_rule;  // what ends an episode in this file
  Stats returns, lengths;
  std::map<std::string, std::string> dtypes, metadata;
  bool has_qpos = false, has_qvel = false, has_next_observations = false;

  nlohmann::json to_json() const;
};

DatasetSummary summarize(const Transitions& t, const EpisodeSplit& split);

}  // namespace aaren::data
