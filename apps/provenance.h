// What ran a command: the toolkit's version and git commit, the libraries it
// was built with, the machine and the command line. Saved next to a run's
// outputs (config.json's "provenance") and printed by `aaren --version`.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace aaren::cli {

// "aaren-rl 0.5.0 (commit 1a2b3c4d5e6f), LibTorch 1.13.0, MuJoCo 2.3.x, HDF5 1.10.x"
std::string version_line();

// {"toolkit", "commit", "libtorch", "mujoco", "hdf5", "machine": {...},
//  "command": [argv...], "started_utc"}
nlohmann::json provenance(int argc, char** argv);

}  // namespace aaren::cli
