// Offline RL data in memory: flat transition arrays as D4RL stores them, and
// the episodes they split into. No LibTorch here.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace aaren::data {

// A bad or unreadable data file. what() is one line naming the file, the key
// and what was expected.
struct DataError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Transitions in the D4RL layout (Fu et al. 2020), converted to float32 in memory
// (qpos/qvel kept in float64: they are replayed into the simulator).
struct Transitions {
  int64_t size = 0;  // N
  int64_t obs_dim = 0;
  int64_t act_dim = 0;
  std::vector<float> observations;       // [N, obs_dim]
  std::vector<float> actions;            // [N, act_dim]
  std::vector<float> rewards;            // [N]
  std::vector<uint8_t> terminals;        // [N] 0/1
  std::vector<uint8_t> timeouts;         // [N] 0/1 (all 0 when the file has none)
  bool has_timeouts = false;             // false for old v0 files: only terminals end episodes
  std::vector<float> next_observations;  // [N, obs_dim] or empty
  int64_t nq = 0, nv = 0;                // 0 when absent
  std::vector<double> qpos;              // [N, nq] or empty (state before the step)
  std::vector<double> qvel;              // [N, nv] or empty
  std::vector<double> qacc_warmstart;    // [N, nv] or empty: MuJoCo's solver warm start (ours, not D4RL's)
  // Episode boundaries given by the file itself (Minari: one group per
  // episode): offsets of each episode's first transition. Empty for D4RL,
  // whose episodes are found from terminals/timeouts.
  std::vector<int64_t> episode_starts;

  std::map<std::string, std::string> metadata;  // metadata/... scalars, as text
  std::map<std::string, std::string> dtypes;    // key -> dtype in the file, e.g. "float64"
  // Problems with optional parts (unreadable metadata) that did not stop the
  // read: one line each, naming the file and key, for the caller to show.
  std::vector<std::string> warnings;

  // Throws DataError unless every array has the sizes N, obs_dim, act_dim say.
  void check_consistent(const std::string& origin) const;
};

struct Episode {
  int64_t start = 0;   // index of the first transition
  int64_t length = 0;  // transitions
  bool terminated = false;
  bool timed_out = false;
  double episode_return = 0.0;  // undiscounted sum of rewards (double accumulation)
};

struct EpisodeSplit {
  std::vector<Episode> episodes;  // complete episodes (and the partial one if kept)
  int64_t partial_steps = 0;      // transitions after the last episode end
  bool partial_kept = false;      // whether those form the last entry of `episodes`
  int64_t step_limit = 0;         // > 0: the file has no timeouts; episodes also ended at this length

  // The mean undiscounted return over `episodes`; NaN when there are none.
  double mean_return() const;
  // The best undiscounted return over `episodes`; NaN when there are none.
  double max_return() const;
};

// Gym's TimeLimit for Hopper, HalfCheetah, Walker2d and Ant (v2-v4): the step
// limit D4RL's sequence_dataset applies to files without timeouts.
constexpr int64_t kGymMujocoStepLimit = 1000;

// D4RL rule: an episode ends at i (inclusive) when terminals[i] or
// timeouts[i]; in a file without timeouts (D4RL v0) when terminals[i] or the
// episode reaches `step_limit` steps (0: no limit), as D4RL's
// sequence_dataset does. A trailing run without an end is a partial episode:
// dropped by default (as the reference tools do), kept with keep_partial.
// With explicit episode_starts (Minari), those boundaries are used instead.
EpisodeSplit split_episodes(const Transitions& t, bool keep_partial = false, int64_t step_limit = kGymMujocoStepLimit);

// DT's %BC data (Chen et al. 2021; its experiment.py, `pct_traj`): the
// episodes in order of return, best first, added while their steps stay within
// `fraction` of all steps (at least the best one), in their original order.
EpisodeSplit top_episodes(const EpisodeSplit& split, double fraction);

}  // namespace aaren::data
