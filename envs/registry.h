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

// One row per env: everything the toolkit knows about it. Adding an env is
// one class (envs/<env>.h) and one row in env_specs().
struct EnvSpec {
  std::string name;     // canonical: hopper, halfcheetah, walker2d, ant
  std::string gym_id;   // Hopper-v3 ...
  int64_t obs_dim = 0;  // with the default (v3) config
  int64_t act_dim = 0;
  std::string description;
  ScoreReference d4rl;        // D4RL's random and expert returns (Fu et al. 2020: d4rl/infos.py)
  double dt_target_high = 0;  // DT's two evaluation targets (Chen et al. 2021, its gym experiment script)
  double dt_target_low = 0;
  double dt_return_scale = 1000;  // DT divides returns-to-go by this for every gym locomotion env
  // Builds the env for a gym version ("v3" | "v4").
  std::function<std::unique_ptr<Env>(const std::string& version, const EnvOptions& options)> make;
};

const std::vector<EnvSpec>& env_specs();

// The row of an env name (any form resolve_env_name accepts). Throws EnvError.
const EnvSpec& env_spec(const std::string& name);

// What a name resolves to: the env, gym version ("v3" or "v4"), and the D4RL
// dataset it names, if any. Throws EnvError listing the known names.
struct ResolvedName {
  const EnvSpec* spec = nullptr;
  std::string version = "v3";
  std::string dataset;  // e.g. "hopper-medium-v2", empty if not a dataset name
};
ResolvedName resolve_env_name(const std::string& name);

// Why a Gymnasium id of a known env is refused (Hopper-v5: its semantics
// differ from the ones implemented here), or nullopt when it is not refused.
std::optional<std::string> unsupported_version(const std::string& name);

std::unique_ptr<Env> make_env(const std::string& name, const EnvOptions& options = {});

// The D4RL score reference of an env name (any accepted form).
ScoreReference score_reference(const std::string& name);

// The env a dataset was recorded in, and where that was read.
struct DatasetEnv {
  std::string env;       // canonical name
  std::string source;    // "metadata/env_name", "metadata/env", "metadata/environment", "metadata/env_id" or "file name"
  std::string recorded;  // the metadata's value as written, e.g. "Hopper-v5" (empty from the file name)
};
// From the dataset's metadata (env_name, as D4RL and our writer store it;
// env or environment, as other tools do; env_id, Minari's env_spec id as the
// reader records it), else from its file name (hopper-medium-v2.hdf5).
// nullopt when neither names a known env.
std::optional<DatasetEnv> dataset_env(const std::map<std::string, std::string>& metadata, const std::string& path);

// The MuJoCo library this build runs on, e.g. "2.3.3".
std::string mujoco_version();

}  // namespace aaren::envs
