// Episodes ready for sequence models: returns-to-go, state statistics, and
// batch assembly into tensors, both as Decision Transformer samples them
// (K-step windows) and as a recurrent policy sees them (whole episodes from
// the first step, chunked).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "data/transitions.h"

namespace aaren::data {

// The kept episodes of a file, stored contiguously.
class TrajectoryDataset {
 public:
  TrajectoryDataset(const Transitions& t, const EpisodeSplit& split);

  int64_t obs_dim() const { return obs_dim_; }
  int64_t act_dim() const { return act_dim_; }
  int64_t num_steps() const { return static_cast<int64_t>(rewards_.size()); }
  int64_t num_episodes() const { return static_cast<int64_t>(episodes_.size()); }
  // Episodes with `start` re-indexed into this dataset's arrays.
  const std::vector<Episode>& episodes() const { return episodes_; }
  int64_t max_episode_length() const { return max_length_; }

  // Per-dimension mean and (population) std over every state of the kept
  // episodes, accumulated in double. DT normalises with (s - mean) / (std + 1e-6).
  const std::vector<float>& state_mean() const { return state_mean_; }
  const std::vector<float>& state_std() const { return state_std_; }
  const std::vector<float>& state_inv_std() const { return state_inv_std_; }  // 1 / (std + 1e-6)
  // Normalise with these statistics instead of this file's (a model measured on
  // other data sees states as its training data's statistics made them).
  // Throws std::invalid_argument unless both have obs_dim() entries.
  void use_state_statistics(const std::vector<float>& mean, const std::vector<float>& inv_std);

  // Rows of step i (0 <= i < num_steps()).
  const float* observation(int64_t i) const { return observations_.data() + i * obs_dim_; }
  const float* action(int64_t i) const { return actions_.data() + i * act_dim_; }
  float reward(int64_t i) const { return rewards_[i]; }
  // Undiscounted return-to-go: sum of rewards from step i to its episode's end.
  float return_to_go(int64_t i) const { return rtg_[i]; }
  // Episode index of step i (binary search).
  int64_t episode_of(int64_t i) const;

 private:
  int64_t obs_dim_, act_dim_, max_length_ = 0;
  std::vector<Episode> episodes_;
  std::vector<int64_t> starts_;  // episodes_[k].start, for episode_of()
  std::vector<float> observations_, actions_, rewards_, rtg_;
  std::vector<float> state_mean_, state_std_, state_inv_std_;
};

// How raw steps become model inputs. Defaults are DT's (Chen et al. 2021, gym experiments).
struct BatchOptions {
  double return_scale = 1000.0;  // returns-to-go are divided by this
  bool normalize_states = true;  // (s - mean) / (std + 1e-6)
  int64_t max_timestep = 1000;   // timesteps are clipped to [0, max_timestep - 1]
};

// A batch of sequences, time-major within each row: [B, T, ...]. Padded
// positions (mask false) hold zeros.
struct SequenceBatch {
  torch::Tensor states;         // [B, T, obs_dim] float32 (normalised if asked)
  torch::Tensor actions;        // [B, T, act_dim] float32
  torch::Tensor rewards;        // [B, T] float32
  torch::Tensor returns_to_go;  // [B, T] float32, divided by return_scale
  torch::Tensor timesteps;      // [B, T] int64, step index within the episode
  torch::Tensor mask;           // [B, T] bool, true = real step

  int64_t batch() const { return states.size(0); }
  int64_t length() const { return states.size(1); }
  // Steps [start, start + len) of every row (views).
  SequenceBatch narrow(int64_t start, int64_t len) const;
};

// DT sampling: an episode with probability proportional to its length, a
// window start uniform over its steps, K steps from there (fewer at the
// episode's end), left-padded to K.
class WindowSampler {
 public:
  WindowSampler(const TrajectoryDataset& data, int64_t context, BatchOptions options, uint64_t seed);
  SequenceBatch sample(int64_t batch_size);
  // Draws `batch_size` windows (the generator advances as for all of them)
  // and returns windows [first, first + count): data-parallel ranks that
  // share a seed each take their slice of one global batch.
  SequenceBatch sample(int64_t batch_size, int64_t first, int64_t count);
  // The generator's state as text (for checkpoints that resume exactly).
  std::string rng_state() const;
  void set_rng_state(const std::string& state);

 private:
  const TrajectoryDataset& data_;
  int64_t context_;
  BatchOptions options_;
  std::mt19937_64 rng_;
};

// Whole episodes from their first step, right-padded to the longest in the
// batch, for backbones whose recurrent policy sees the whole episode.
class EpisodeSampler {
 public:
  EpisodeSampler(const TrajectoryDataset& data, BatchOptions options, uint64_t seed);
  // Episodes drawn with probability proportional to their length.
  SequenceBatch sample(int64_t batch_size);
  // As WindowSampler's: draws batch_size, returns episodes [first, first + count).
  SequenceBatch sample(int64_t batch_size, int64_t first, int64_t count);
  // The given episodes, in order.
  SequenceBatch episodes(const std::vector<int64_t>& indices) const;
  std::string rng_state() const;
  void set_rng_state(const std::string& state);
  // Consecutive time chunks of at most max_len steps (views), for processing
  // long episodes in pieces with the backbone's state carried between them.
  static std::vector<SequenceBatch> chunks(const SequenceBatch& batch, int64_t max_len);

 private:
  const TrajectoryDataset& data_;
  BatchOptions options_;
  std::mt19937_64 rng_;
};

}  // namespace aaren::data
