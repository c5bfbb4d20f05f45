// `aaren bench env`: the cost of our environment layer over raw MuJoCo, and
// vectorised throughput.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "base/config_fields.h"
#include "bench/report.h"

namespace aaren::bench {

struct EnvBenchConfig {
  std::vector<std::string> envs{"hopper", "halfcheetah", "walker2d", "ant"};
  int64_t steps = 20000;        // env steps per single-env measurement
  int64_t num_envs = 16;        // vectorised measurement: envs stepped together
  int64_t vector_steps = 2000;  // vectorised steps per thread count
  std::vector<int> threads{1, 2};
  uint64_t seed = 0;

  // Each setting described once: its flag, JSON key and help (the command's
  // --help, the config written beside its CSV, docs/CLI-REFERENCE.md).
  static const std::vector<base::ConfigField<EnvBenchConfig>>& fields();
  nlohmann::json to_json() const;
};

Table run_env_bench(const EnvBenchConfig& config, std::ostream* progress);

}  // namespace aaren::bench
