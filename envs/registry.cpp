#include "envs/registry.h"

#include <algorithm>
#include <cctype>

#include "envs/ant.h"
#include "envs/half_cheetah.h"
#include "envs/hopper.h"
#include "envs/walker2d.h"

namespace aaren::envs {

const std::vector<EnvSpec>& env_specs() {
  // The model's options are the only ones a user sets from the command line.
  auto with_xml = [](auto config, const EnvOptions& options) {
    config.model_xml = options.model_xml;
    return config;
  };
  // Columns: name, gym id, observation and action sizes, description, D4RL's
  // (env, random, expert) returns, DT's high and low targets, DT's return
  // scale, factory.
  static const std::vector<EnvSpec> specs{
      {"hopper",
       "Hopper-v3",
       Hopper::kSizes.obs_dim,
       Hopper::kSizes.nu,
       "one-legged hopper; ends when it falls (z <= 0.7, |angle| >= 0.2)",
       {"hopper", -20.272305, 3234.3},
       3600,
       1800,
       1000,
       [=](const std::string&, const EnvOptions& o) { return std::make_unique<Hopper>(with_xml(HopperConfig{}, o)); }},
      {"halfcheetah",
       "HalfCheetah-v3",
       HalfCheetah::kSizes.obs_dim,
       HalfCheetah::kSizes.nu,
       "planar cheetah; never terminates",
       {"halfcheetah", -280.178953, 12135.0},
       12000,
       6000,
       1000,
       [=](const std::string&, const EnvOptions& o) {
         return std::make_unique<HalfCheetah>(with_xml(HalfCheetahConfig{}, o));
       }},
      {"walker2d",
       "Walker2d-v3",
       Walker2d::kSizes.obs_dim,
       Walker2d::kSizes.nu,
       "planar biped; ends when z leaves (0.8, 2) or |angle| >= 1",
       {"walker2d", 1.629008, 4592.3},
       5000,
       2500,
       1000,
       [=](const std::string&, const EnvOptions& o) {
         return std::make_unique<Walker2d>(with_xml(Walker2dConfig{}, o));
       }},
      // Ant is not in DT's experiments: its targets here are this toolkit's
      // choice, about 1.5x and 0.75x D4RL's expert return.
      {"ant",
       "Ant-v3",
       Ant::kSizes.obs_dim,
       Ant::kSizes.nu,
       "quadruped; ends when z leaves [0.2, 1]; v4: 27-dim observation",
       {"ant", -325.6, 3879.7},
       6000,
       3000,
       1000,
       [=](const std::string& version, const EnvOptions& o) {
         return std::make_unique<Ant>(with_xml(version == "v4" ? AntConfig::v4() : AntConfig::v3(), o));
       }},
  };
  return specs;
}

namespace {
std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string known_names() {
  std::string out;
  for (const auto& s : env_specs()) out += (out.empty() ? "" : ", ") + s.name + " (" + s.gym_id + ")";
  return out + ", or a D4RL dataset name such as hopper-medium-v2";
}

// Gymnasium's v5 (2024) against the v3/v4 semantics implemented here, per
// its changelog: only HalfCheetah keeps v4's dynamics and reward.
std::string v5_difference(const std::string& env) {
  if (env == "hopper") return "it pays the healthy reward only while healthy (the terminating step's reward is 1 lower)";
  if (env == "walker2d")
    return "both feet have friction 1.9 (the right foot's is 0.9 in v2-v4), and it pays the healthy reward only "
           "while healthy";
  if (env == "ant")
    return "it observes and charges the contact forces, and pays the healthy reward only while healthy";
  return "";
}

bool is_d4rl_quality(const std::string& q) {
  static const std::vector<std::string> qualities{"random",        "medium",        "expert",
                                                  "medium-replay", "medium-expert", "full-replay"};
  return std::find(qualities.begin(), qualities.end(), q) != qualities.end();
}
}  // namespace

ResolvedName resolve_env_name(const std::string& name) {
  const std::string n = lower(name);
  for (const auto& spec : env_specs()) {
    const std::string id = lower(spec.gym_id);
    const std::string stem = id.substr(0, id.size() - 2);  // "hopper-"
    if (n == spec.name) return {&spec, "v3", ""};
    if (n == stem + "v3" || n == stem + "v4") return {&spec, n.substr(n.size() - 2), ""};
    if (n == stem + "v5") {
      if (const auto refusal = unsupported_version(name)) throw EnvError(*refusal);
      return {&spec, "v4", ""};  // HalfCheetah-v5: v4's dynamics and reward (v5 renamed info keys, added arguments)
    }
    // D4RL: <env>-<quality>-v<k>, e.g. hopper-medium-replay-v2.
    const std::string prefix = spec.name + "-";
    if (n.rfind(prefix, 0) == 0) {
      const auto dash = n.rfind("-v");
      if (dash != std::string::npos && dash > prefix.size() && dash + 2 < n.size() &&
          std::all_of(n.begin() + dash + 2, n.end(), ::isdigit) &&
          is_d4rl_quality(n.substr(prefix.size(), dash - prefix.size())))
        return {&spec, "v3", n};
    }
  }
  throw EnvError("unknown env '" + name + "'; known: " + known_names());
}

const EnvSpec& env_spec(const std::string& name) { return *resolve_env_name(name).spec; }

std::unique_ptr<Env> make_env(const std::string& name, const EnvOptions& options) {
  const auto r = resolve_env_name(name);
  return r.spec->make(r.version, options);
}

ScoreReference score_reference(const std::string& name) { return env_spec(name).d4rl; }

std::optional<DatasetEnv> dataset_env(const std::map<std::string, std::string>& metadata, const std::string& path) {
  for (const char* key : {"env_name", "env", "environment", "env_id"}) {
    const auto it = metadata.find(key);
    if (it == metadata.end()) continue;
    if (auto ref = score_reference_for(it->second))
      return DatasetEnv{ref->env, std::string("metadata/") + key, it->second};
  }
  if (auto ref = score_reference_for(path)) return DatasetEnv{ref->env, "file name", ""};
  return std::nullopt;
}

std::optional<std::string> unsupported_version(const std::string& name) {
  const std::string n = lower(name);
  for (const auto& spec : env_specs()) {
    const std::string id = lower(spec.gym_id);
    if (n != id.substr(0, id.size() - 2) + "v5") continue;
    const auto difference = v5_difference(spec.name);
    if (difference.empty()) return std::nullopt;
    return name + ": Gymnasium's v5 is not implemented here (v3/v4 semantics are): " + difference + "; use " +
           spec.gym_id.substr(0, spec.gym_id.size() - 2) + "v4 to act in v4's semantics knowingly";
  }
  return std::nullopt;
}

std::string mujoco_version() { return mj_versionString(); }

}  // namespace aaren::envs
