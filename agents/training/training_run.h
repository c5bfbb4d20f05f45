// A training run as the user's input resolves it, before anything happens:
// the checkpoint a --resume continues and the stored run's config with the
// fields a resume may change, the dataset (by name or path) and its
// episodes, the env, the score references, DT's targets and the evaluation
// interval, with the checks a resume must pass. Resolution has no side
// effect: it reads files and writes none, prints nothing (it tells `say`),
// joins no process group, and leaves LibTorch's generator and threads as it
// found them (a stored model is built to load a checkpoint: the generator
// state is restored after). Files are read in a child process, and HDF5's
// own error printing stays off in this process (data/hdf5_io.cpp). The same
// inputs give the same run (`aaren train --print-config` shows it;
// DecisionTrainer runs it).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "agents/checkpoint/checkpoint.h"
#include "agents/checkpoint/train_config.h"
#include "data/hdf5_io.h"
#include "data/trajectory_dataset.h"

namespace aaren {

struct ResolvedTrainingRun {
  TrainConfig config;                  // what runs and what config.json holds
  std::optional<LoadedAgent> resumed;  // the checkpoint a --resume continues (read once)
  data::EpisodeData data;              // the file's transitions and the episodes trained on (DT's %BC kept)
  std::unique_ptr<data::TrajectoryDataset> dataset;  // those episodes, as the samplers read them
};

// Resolves `given` for `world_size` ranks: with --resume (a checkpoint, or a
// run folder's newest), the stored run with the fields named in
// `given_flags` taken from `given` (all of them when given_flags is empty);
// a flag the stored run keeps is refused. `say` hears, as they are found,
// the data's warnings ("warning: ...") and how the env was inferred ("note:
// ..."). Throws std::invalid_argument (bad input: one line naming the flag
// or file), or envs::EnvError for an unknown env.
ResolvedTrainingRun resolve_training_run(const TrainConfig& given, const std::set<std::string>& given_flags,
                                         int world_size, const std::function<void(const std::string&)>& say = {});

// OUT/checkpoint_<update>.pt files, oldest first: (update, path).
std::vector<std::pair<int64_t, std::string>> periodic_checkpoints(const std::string& dir);

// Whether `--resume dir` finds a checkpoint there to continue from: a
// checkpoint_<update>.pt or checkpoint.pt (what resolve_training_run reads).
bool holds_a_checkpoint_to_resume(const std::string& dir);

}  // namespace aaren
