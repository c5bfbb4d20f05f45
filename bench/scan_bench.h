// `aaren bench scan`: the fast scan, the reference scan and causal softmax
// attention on the same inputs, timed interleaved in one run, with each
// one's error against the float64 brute force.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "base/config_fields.h"
#include "bench/report.h"

namespace aaren::bench {

struct ScanBenchConfig {
  std::vector<int64_t> lengths{60, 600, 3000};  // N, tokens per sequence
  std::vector<int64_t> heads{1, 4};             // H; d_head = d_model / H
  int64_t batch = 16;                           // B
  int64_t d_model = 128;                        // H * d_head
  int threads = 1;                              // LibTorch intra-op threads
  int min_rounds = 3;                           // interleaved rounds per case, at least
  double min_seconds = 2.0;                     // ... and until this much time was spent on the case
  uint64_t seed = 0;
  bool no_errors = false;      // skip the comparison with the float64 brute force
  std::string device = "cpu";  // cpu | cuda | cuda:N (a CUDA LibTorch)

  // Each setting described once: its flag, JSON key and help (the command's
  // --help, the config written beside its CSV, docs/CLI-REFERENCE.md).
  static const std::vector<base::ConfigField<ScanBenchConfig>>& fields();
  nlohmann::json to_json() const;
};

// Runs every (heads, length) case; writes one progress line per case to
// `progress` (may be null). Times in milliseconds (medians over rounds).
Table run_scan_bench(const ScanBenchConfig& config, std::ostream* progress);

}  // namespace aaren::bench
