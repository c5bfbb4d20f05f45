// Datasets by the names users give them, found where D4RL and Minari keep
// them:
// - D4RL (Fu et al. 2020) names like hopper-medium-replay-v2, in
//   $D4RL_DATASET_DIR or ~/.d4rl/datasets under the file name D4RL downloads
//   them to (hopper_medium_replay-v2.hdf5; v0: hopper_medium.hdf5, and
//   medium-replay-v0 was hopper_mixed.hdf5), or as NAME.hdf5;
// - Minari ids like mujoco/hopper/medium-v0, folders under
//   $MINARI_DATASETS_PATH or ~/.minari/datasets holding data/main_data.hdf5.
// A path that exists is always taken as it is.
#pragma once

#include <string>
#include <vector>

namespace aaren::data {

// Where D4RL's and Minari's datasets are looked for (the environment
// variables, else the home-folder defaults).
std::string d4rl_dataset_dir();
std::string minari_datasets_dir();

// A path for --dataset: `name` itself when it exists, else the D4RL or
// Minari dataset of that name. Throws DataError naming what was looked for
// and where.
std::string resolve_dataset(const std::string& name);

struct FoundDataset {
  std::string name;    // as --dataset takes it: hopper-medium-v2, mujoco/hopper/medium-v0
  std::string source;  // "D4RL" or "Minari"
  std::string path;    // the file (D4RL) or the dataset folder (Minari)
};
// Every dataset in those folders, D4RL's first, each sorted by name.
std::vector<FoundDataset> list_datasets();

}  // namespace aaren::data
