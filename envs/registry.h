// Every environment by name: canonical names (hopper), gym ids (Hopper-v3,
// Hopper-v4) and D4RL dataset names (hopper-medium-v2, ...), with the
// normalised-score references of each.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "envs/d4rl_scores.h"
#include "envs/env.h"

namespace aaren::envs {

// Options a user can set from the command line for any env.
struct EnvOptions {
  std::string model_xml;  // another MJCF file with the same joints and actuators
};

// One row per (env, version): everything the toolkit knows about it. Adding an
// env is one class (envs/<env>.h) and its rows in env_specs().
struct EnvSpec {
  std::string name;     // the robot: hopper, halfcheetah, walker2d, ant
  std::string version;  // v3 (gym; D4RL's data), v4 (Gymnasium, new bindings), v5 (Gymnasium 1.0; Minari's data)
  std::string gym_id;   // Hopper-v3, Hopper-v5: what data files, config.json and checkpoints record
  int64_t obs_dim = 0;
  int64_t act_dim = 0;
  int64_t max_episode_steps = 1000;  // the time limit gym/Gymnasium register for the id
  std::string description;           // the semantics, and what this version changes
  // The normalised score's references: D4RL's random and expert returns
  // (Fu et al. 2020: d4rl/infos.py), measured in gym v3. No published ones
  // exist for other versions, so their rows keep D4RL's; a Minari dataset's own
  // (ref_min_score, ref_max_score) take precedence where it has them.
  ScoreReference reference;
  double dt_target_high = 0;  // DT's two evaluation targets (Chen et al. 2021, its gym experiment script)
  double dt_target_low = 0;
  double dt_return_scale = 1000;  // DT divides returns-to-go by this for every gym locomotion env
  std::function<std::unique_ptr<Env>(const EnvOptions& options)> make;
};

const std::vector<EnvSpec>& env_specs();

// The row of an env name (any form resolve_env_name accepts). Throws EnvError.
const EnvSpec& env_spec(const std::string& name);

// What a name resolves to: the row (a gym/Gymnasium id, case-insensitive, names
// its version; a bare robot name or a D4RL dataset name means v3, the version
// D4RL's data were collected in), and the D4RL dataset it names, if any. Throws
// EnvError listing the known names.
struct ResolvedName {
  const EnvSpec* spec = nullptr;
  std::string dataset;  // e.g. "hopper-medium-v2", empty if not a dataset name
};
ResolvedName resolve_env_name(const std::string& name);

std::unique_ptr<Env> make_env(const std::string& name, const EnvOptions& options = {});

// The score reference of an env name's row (any accepted form).
ScoreReference score_reference(const std::string& name);

// The env a dataset was recorded in, and where that was read.
struct DatasetEnv {
  std::string env;       // the row's gym id, e.g. Hopper-v5
  std::string source;    // "metadata/env_name", ..., "metadata/dataset_id", "file name"
  std::string recorded;  // the metadata's value as written, e.g. "Hopper-v5" (empty from the file name)
  std::string note;      // how the version was inferred, when no metadata names it (else empty)
};
// From the dataset's metadata (env_name, as D4RL and our writer store it;
// env or environment, as other tools do; env_id, Minari's env_spec id as the
// reader records it; a gym id names its version, a bare name means v3), else
// from a Minari dataset id (mujoco/hopper/medium-v0, in the metadata or the
// folder: Minari's MuJoCo datasets were recorded in v5), else from its file
// name (hopper-medium-v2.hdf5: v3). nullopt when none names a known env.
std::optional<DatasetEnv> dataset_env(const std::map<std::string, std::string>& metadata, const std::string& path);

// The references a dataset's normalised scores use: its own, where it carries
// them (Minari's ref_min_score and ref_max_score, which
// minari.get_normalized_score uses), else its env row's (D4RL's).
struct DatasetReference {
  ScoreReference reference;
  std::string source;  // "dataset (ref_min_score, ref_max_score)", "D4RL" or "none" (scores are NaN)
};
DatasetReference dataset_reference(const std::map<std::string, std::string>& metadata, const EnvSpec& env);

// The MuJoCo library this build runs on, e.g. "2.3.3".
std::string mujoco_version();

}  // namespace aaren::envs
