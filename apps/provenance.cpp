#include "apps/provenance.h"

#include <torch/version.h>

#include <ctime>

#include "aaren_build_info.h"  // generated: AAREN_GIT_COMMIT
#include "bench/report.h"
#include "data/hdf5_io.h"
#include "envs/registry.h"

namespace aaren::cli {

std::string version_line() {
  return std::string("aaren-rl ") + AAREN_VERSION + " (commit " + AAREN_GIT_COMMIT + "), LibTorch " + TORCH_VERSION +
         ", MuJoCo " + envs::mujoco_version() + ", HDF5 " + data::hdf5_library_version();
}

nlohmann::json provenance(int argc, char** argv) {
  std::vector<std::string> command(argv, argv + argc);
  // argv[0] of a subcommand is its name, e.g. "aaren train"
  char started[32] = "";
  const std::time_t now = std::time(nullptr);
  std::strftime(started, sizeof started, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return {{"toolkit", std::string("aaren-rl ") + AAREN_VERSION},
          {"commit", AAREN_GIT_COMMIT},
          {"libtorch", TORCH_VERSION},
          {"mujoco", envs::mujoco_version()},
          {"hdf5", data::hdf5_library_version()},
          {"machine", bench::machine_info()},
          {"command", command},
          {"started_utc", started}};
}

}  // namespace aaren::cli
