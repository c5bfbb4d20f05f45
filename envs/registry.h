// Every environment by name: canonical names (hopper), gym ids (Hopper-v3,
// Hopper-v4) and D4RL dataset names (hopper-medium-v2, ...), with the
// normalised-score references of each.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "envs/d4rl_scores.h"
#include "envs/env.h"

namespace aaren::envs {

// Options a user can set from the command line for any env.
struct EnvOptions {
  std::string model_xml;  // another MJCF file with the same joints and actuators
};

struct EnvSpec {
  std::string name;     // canonical: hopper, halfcheetah, walker2d, ant
  std::string gym_id;   // Hopper-v3 ...
  int64_t obs_dim = 0;  // with the default (v3) config
  int64_t act_dim = 0;
  std::string description;
};

const std::vector<EnvSpec>& env_specs();

// What a name resolves to: the env, gym version ("v3" or "v4"), and the D4RL
// dataset it names, if any. Throws EnvError listing the known names.
struct ResolvedName {
  const EnvSpec* spec = nullptr;
  std::string version = "v3";
  std::string dataset;  // e.g. "hopper-medium-v2", empty if not a dataset name
};
ResolvedName resolve_env_name(const std::string& name);

std::unique_ptr<Env> make_env(const std::string& name, const EnvOptions& options = {});

// The D4RL score reference of an env name (any accepted form).
ScoreReference score_reference(const std::string& name);

}  // namespace aaren::envs
