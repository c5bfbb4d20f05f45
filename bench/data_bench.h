// `aaren bench data`: load time of a large gzip D4RL file and the rate of
// batch assembly (DT windows, whole episodes).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

#include "base/config_fields.h"
#include "bench/report.h"

namespace aaren::bench {

struct DataBenchConfig {
  std::string file;               // an existing file to load; empty: generate one
  int64_t transitions = 1000000;  // generated file: N
  int64_t obs_dim = 11;           // generated file: hopper-sized
  int64_t act_dim = 3;
  std::string workdir = "/tmp";  // where the generated file goes (deleted afterwards)
  int64_t batch = 64;            // windows per batch
  int64_t context = 20;          // K
  int64_t episode_batch = 16;    // whole episodes per batch
  double seconds = 2.0;          // per sampling measurement
  uint64_t seed = 0;

  // Each setting described once: its flag, JSON key and help (the command's
  // --help, the config written beside its CSV, docs/CLI-REFERENCE.md).
  static const std::vector<base::ConfigField<DataBenchConfig>>& fields();
  nlohmann::json to_json() const;
};

Table run_data_bench(const DataBenchConfig& config, std::ostream* progress);

}  // namespace aaren::bench
