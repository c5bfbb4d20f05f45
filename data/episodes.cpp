#include <algorithm>
#include <cmath>
#include <numeric>

#include "data/transitions.h"

namespace aaren::data {

EpisodeSplit split_episodes(const Transitions& t, bool keep_partial, int64_t step_limit) {
  EpisodeSplit split;
  const bool by_limit = !t.has_timeouts && t.episode_starts.empty() && step_limit > 0;
  split.step_limit = by_limit ? step_limit : 0;
  auto close = [&](int64_t start, int64_t end_inclusive) {
    Episode e;
    e.start = start;
    e.length = end_inclusive - start + 1;
    e.terminated = t.terminals[end_inclusive] != 0;
    e.timed_out = (t.timeouts[end_inclusive] != 0 || (by_limit && e.length == step_limit)) && !e.terminated;
    double ret = 0.0;
    for (int64_t i = start; i <= end_inclusive; ++i) ret += t.rewards[i];
    e.episode_return = ret;
    split.episodes.push_back(e);
  };

  if (!t.episode_starts.empty()) {  // explicit boundaries (Minari)
    for (size_t k = 0; k < t.episode_starts.size(); ++k) {
      const int64_t start = t.episode_starts[k];
      const int64_t end = k + 1 < t.episode_starts.size() ? t.episode_starts[k + 1] : t.size;
      if (end > start) close(start, end - 1);
    }
    return split;
  }

  int64_t start = 0;
  for (int64_t i = 0; i < t.size; ++i) {
    // D4RL's sequence_dataset on files without timeouts (v0): an episode
    // also ends when the env's step counter runs out.
    if (t.terminals[i] || t.timeouts[i] || (by_limit && i - start + 1 == step_limit)) {
      close(start, i);
      start = i + 1;
    }
  }
  split.partial_steps = t.size - start;
  if (split.partial_steps > 0 && keep_partial) {
    close(start, t.size - 1);
    split.episodes.back().terminated = false;
    split.episodes.back().timed_out = false;
    split.partial_kept = true;
  }
  return split;
}

double EpisodeSplit::mean_return() const {
  if (episodes.empty()) return std::nan("");
  double total = 0;
  for (const auto& e : episodes) total += e.episode_return;
  return total / static_cast<double>(episodes.size());
}

double EpisodeSplit::max_return() const {
  if (episodes.empty()) return std::nan("");
  double best = episodes.front().episode_return;
  for (const auto& e : episodes) best = std::max(best, e.episode_return);
  return best;
}

EpisodeSplit top_episodes(const EpisodeSplit& split, double fraction) {
  EpisodeSplit out = split;
  if (fraction >= 1.0 || split.episodes.empty()) return out;
  int64_t total = 0;
  for (const auto& e : split.episodes) total += e.length;
  const int64_t budget = std::max<int64_t>(static_cast<int64_t>(fraction * static_cast<double>(total)), 1);
  std::vector<size_t> order(split.episodes.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return split.episodes[a].episode_return > split.episodes[b].episode_return;
  });
  std::vector<bool> keep(order.size(), false);
  int64_t steps = split.episodes[order[0]].length;
  keep[order[0]] = true;
  for (size_t k = 1; k < order.size() && steps + split.episodes[order[k]].length <= budget; ++k) {
    steps += split.episodes[order[k]].length;
    keep[order[k]] = true;
  }
  out.episodes.clear();
  for (size_t i = 0; i < split.episodes.size(); ++i)
    if (keep[i]) out.episodes.push_back(split.episodes[i]);
  return out;
}

}  // namespace aaren::data
