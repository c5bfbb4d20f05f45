// `aaren bench policy`: what a decision policy costs per env step when it
// acts, Aaren against the Transformer, measured side by side in one process.
//
// Variants (same model size, same synthetic inputs), each in DT's interleaved
// token layout (three tokens per env step) and in the fused one (one token):
//   aaren-recurrent      Aaren's (m, u, w) state, three tokens per env step;
//   aaren-lean           the same Aaren policy in the LibTorch-free runtime;
//   transformer-window   DT's way: the last K steps re-run every env step;
//   transformer-kvcache  the Transformer with a cache of every key and value.
//
// Three measurements:
//   timing  — every variant steps the same inputs, interleaved in blocks of
//             `block` env steps (rotating the order), `repeats` episodes of
//             `steps` env steps;
//   memory  — each variant alone (after malloc_trim), process RSS and the
//             policy's state bytes after every step;
//   sweep   — batch 1, each variant alone, until `sweep_tokens` tokens:
//             latency and memory against the number of tokens seen.
// Inputs are synthetic (standard-normal observations, reward 1 per step):
// the cost does not depend on their values, and no episode ends early.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "bench/report.h"

#include "agents/models/backbones.h"
#include "base/config_fields.h"

namespace aaren::bench {

// Every policy variant the registered backbones give, "<backbone>-<mode>" for
// each of their acting modes and "<backbone>-lean" where the lean runtime runs
// it: aaren-recurrent, aaren-lean, transformer-window, transformer-kvcache, ...
std::vector<std::string> policy_variants();

// What a variant's name says: the backbone, its mode, and whether the lean runtime runs it.
struct PolicyVariant {
  BackboneKind kind;
  ActMode mode;
  bool lean;
};
std::optional<PolicyVariant> parse_variant(const std::string& name);  // nullopt: not a variant

struct PolicyBenchConfig {
  std::string env = "hopper";  // observation and action sizes
  std::string checkpoint;      // optional: sizes, normalisation and one backbone's weights from 'aaren train'
  int64_t d_model = 128;       // model options (DT's defaults) when no checkpoint is given
  int64_t n_layers = 3;
  int64_t n_heads = 1;
  int64_t context = 20;  // K, the window's length in env steps
  int64_t steps = 1000;  // env steps per timed episode
  std::vector<int64_t> batches{1, 16};
  int64_t repeats = 3;           // timed episodes per batch size
  int64_t block = 50;            // timing: variants take turns every this many env steps
  int64_t sweep_tokens = 10000;  // batch-1 sweep length in tokens (0: no sweep)
  std::vector<std::string> variants = policy_variants();
  // Token layouts: each variant runs in each (fused ones are named "<variant>/fused").
  std::vector<std::string> tokens{"interleaved", "fused"};
  int threads = 1;
  uint64_t seed = 0;

  void validate() const;  // throws std::invalid_argument naming the flag
  // Each setting described once: its flag, JSON key and help (the command's
  // --help, the config written beside its CSV, docs/CLI-REFERENCE.md).
  static const std::vector<base::ConfigField<PolicyBenchConfig>>& fields();
  nlohmann::json to_json() const;
};

struct PolicyBenchResult {
  Table summary;        // one row per (variant, batch)
  Table steps;          // one row per (variant, batch, step) of the timing and memory runs
  Table sweep;          // one row per (variant, step) of the sweep
  Table sweep_summary;  // the sweep at tokens 30, 100, 300, 1000, 3000, 10000
  // With aaren-lean: the floor of its step — the weight bytes one env step
  // reads (all three tokens share one pass) over the read bandwidth measured
  // on a buffer of that size.
  nlohmann::json floor;
};

// Read bandwidth (bytes/s) over a buffer of `bytes`, read again and again
// (so it is the bandwidth of whichever cache level holds that much).
double measure_read_bandwidth(int64_t bytes, double seconds = 0.5);

PolicyBenchResult run_policy_bench(const PolicyBenchConfig& config, std::ostream* progress);

// memory_vs_timestep.svg, cumulative_time_vs_timestep.svg (timing, batch 1), and, with
// a sweep, memory_vs_tokens.svg, rss_vs_tokens.svg and latency_vs_tokens.svg.
void write_policy_plots(const PolicyBenchResult& result, const std::string& dir);
// The names of the files write_policy_plots may write (what a --plot folder must not hold
// unless an earlier bench policy drew it).
std::vector<std::string> policy_plot_files();

// Resident set size of this process (bytes), from /proc/self/statm.
int64_t resident_bytes();

}  // namespace aaren::bench
