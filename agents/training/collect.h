// `aaren collect`: roll out a behaviour policy (uniform random, or a saved SAC
// policy with optional Gaussian action noise) and write the transitions in
// the D4RL layout, with infos/qpos, infos/qvel recorded before each step.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "data/transitions.h"
#include "envs/registry.h"

namespace aaren {

struct CollectConfig {
  std::string env = "hopper";
  envs::EnvOptions env_options;
  std::string policy = "random";  // "random" or a policy file from `aaren sac`
  // Instead of a policy: play these actions in order (an HDF5 file's `actions`).
  // With the env seeded as the run that took them was (`aaren sac --seed S`
  // seeds its env with S and resets it at every episode end, as collect does),
  // this replays that run's episodes exactly: how a medium-replay file is
  // rebuilt from a small record of its actions.
  std::string actions;
  double noise = 0.0;          // Gaussian action noise (std), then clipped to [-1, 1]
  bool deterministic = false;  // SAC policy: tanh(mean) instead of sampling
  int64_t transitions = 0;     // stop after this many (the last episode may be cut: partial)
  int64_t episodes = 0;        // ... or after this many whole episodes (exactly one of the two)
  uint64_t seed = 0;
  // LibTorch threads for a SAC policy. It acts on one observation a step, too
  // small for threads to share; the arrays are the same at 1 and 2 threads.
  int threads = 1;
  std::string out;           // .hdf5 file
  bool overwrite = false;    // `out` may replace an existing file (checked by the command)
  std::string command_line;  // recorded in the file's metadata
  std::string provenance;    // what ran it (apps/provenance.h's record as JSON text), recorded there too

  void validate() const;  // throws std::invalid_argument naming the flag
};

// Collects and writes config.out; returns what was written. A --policy that is not a SAC policy
// file, or one for other sizes, throws std::invalid_argument naming the file, before anything is
// written; a bad env or model envs::EnvError; an unreadable --actions record data::DataError.
data::Transitions collect(const CollectConfig& config,
                          const std::function<void(int64_t steps, int64_t episodes)>& progress = {});

// Concatenates files with the same dimensions (e.g. medium + expert ->
// "medium-expert"); optional keys are kept only if every file has them. A
// trailing partial episode of any input but the last is dropped, so that it
// does not merge with the next input's first episode. Each part's metadata is
// kept as part<k>/<key> (and env_name as it is).
data::Transitions concatenate(const std::vector<data::Transitions>& parts);

}  // namespace aaren
