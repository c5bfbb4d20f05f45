// `aaren train --seeds 1 2 3 --out OUT`: one ordinary run per seed in
// OUT/seed_<N>/ (this program started again per seed, one after another or
// --jobs at once), resumable as a whole, then OUT/summary.csv and OUT/eval.svg
// over the seeds (agents/training/seed_summary.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace aaren::cli {

constexpr int kMaxSeedJobs = 64;  // --jobs: seeds trained at once, at most

struct SeedGroupRun {
  std::string out;                 // OUT
  std::vector<uint64_t> seeds;     // the group's (a new group: --seeds; a resumed one: OUT/seeds.json's)
  int jobs = 1;                    // seeds trained at once
  bool resume = false;             // continue OUT's group: finished seeds are skipped
  std::vector<std::string> extra;  // resumed: the flags given beside --resume (e.g. --updates), for every seed
  int64_t updates = 0;             // the updates each seed must reach (a finished seed has)
  std::string title;               // eval.svg's
};

// Trains the seeds still missing, then summarises; returns the exit code
// (0 when every seed has finished; 128 + signal when stopped).
int run_seed_group(const SeedGroupRun& group);

// Whether any seed of the group has written a checkpoint (a run worth keeping).
bool any_seed_checkpoint(const SeedGroupRun& group);

}  // namespace aaren::cli
