#include "envs/registry.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <iterator>

#include "base/did_you_mean.h"
#include "base/numbers.h"
#include "envs/ant.h"
#include "envs/half_cheetah.h"
#include "envs/hopper.h"
#include "envs/humanoid.h"
#include "envs/inverted_double_pendulum.h"
#include "envs/inverted_pendulum.h"
#include "envs/pusher.h"
#include "envs/reacher.h"
#include "envs/swimmer.h"
#include "envs/walker2d.h"

namespace aaren::envs {

namespace {

// A row's factory: the version's config, with the user's model file.
template <class EnvT, class ConfigT>
std::function<std::unique_ptr<Env>(const EnvOptions&)> factory(ConfigT config) {
  return [config](const EnvOptions& options) {
    ConfigT c = config;
    c.model_xml = options.model_xml;
    return std::make_unique<EnvT>(std::move(c));
  };
}

const ScoreReference kHopperD4rl{"hopper", -20.272305, 3234.3};
const ScoreReference kHalfCheetahD4rl{"halfcheetah", -280.178953, 12135.0};
const ScoreReference kWalker2dD4rl{"walker2d", 1.629008, 4592.3};
const ScoreReference kAntD4rl{"ant", -325.6, 3879.7};

// A row's observation and action sizes: the env class's own (kSizes), written once there.
template <class EnvT>
constexpr int64_t obs_of = EnvT::kSizes.obs_dim;
template <class EnvT>
constexpr int64_t act_of = EnvT::kSizes.nu;

// No published references: a dataset's own take their place (scores are NaN without them).
ScoreReference no_reference(const char* env) { return ScoreReference{env, 0.0, 0.0}; }

}  // namespace

// The four locomotion robots in gym v3 and Gymnasium v4 and v5.
static std::vector<EnvSpec> locomotion_specs() {
  // Columns: robot, version, id, observation and action sizes, time limit,
  // semantics, references, DT's high and low targets, DT's return scale,
  // factory. Gymnasium's versions: gymnasium/envs/mujoco/<env>_v4.py and
  // _v5.py (their version histories) and gymnasium/envs/__init__.py (ids, time
  // limits). Ant is not in DT's experiments: its targets are this toolkit's
  // choice, about 1.5x and 0.75x D4RL's expert return.
  return {
      {"hopper", "v3", "Hopper-v3", obs_of<Hopper>, act_of<Hopper>, 1000,
       "one-legged hopper; ends when it falls (z <= 0.7, |angle| >= 0.2); D4RL's data", kHopperD4rl, 3600, 1800, 1000,
       factory<Hopper>(HopperConfig::v3())},
      {"hopper", "v4", "Hopper-v4", obs_of<Hopper>, act_of<Hopper>, 1000,
       "v3's semantics on Gymnasium's mujoco bindings", kHopperD4rl, 3600, 1800, 1000,
       factory<Hopper>(HopperConfig::v3())},
      {"hopper", "v5", "Hopper-v5", obs_of<Hopper>, act_of<Hopper>, 1000,
       "v4, the healthy reward paid only while healthy (the falling step's is 1 lower); Minari's data", kHopperD4rl,
       3600, 1800, 1000, factory<Hopper>(HopperConfig::v5())},
      {"halfcheetah", "v3", "HalfCheetah-v3", obs_of<HalfCheetah>, act_of<HalfCheetah>, 1000,
       "planar cheetah; never terminates; D4RL's data", kHalfCheetahD4rl, 12000, 6000, 1000,
       factory<HalfCheetah>(HalfCheetahConfig{})},
      {"halfcheetah", "v4", "HalfCheetah-v4", obs_of<HalfCheetah>, act_of<HalfCheetah>, 1000,
       "v3's semantics on Gymnasium's mujoco bindings", kHalfCheetahD4rl, 12000, 6000, 1000,
       factory<HalfCheetah>(HalfCheetahConfig{})},
      {"halfcheetah", "v5", "HalfCheetah-v5", obs_of<HalfCheetah>, act_of<HalfCheetah>, 1000,
       "v4's dynamics and reward (v5 adds arguments only)", kHalfCheetahD4rl, 12000, 6000, 1000,
       factory<HalfCheetah>(HalfCheetahConfig{})},
      {"walker2d", "v3", "Walker2d-v3", obs_of<Walker2d>, act_of<Walker2d>, 1000,
       "planar biped; ends when z leaves (0.8, 2) or |angle| >= 1; D4RL's data", kWalker2dD4rl, 5000, 2500, 1000,
       factory<Walker2d>(Walker2dConfig::v3())},
      {"walker2d", "v4", "Walker2d-v4", obs_of<Walker2d>, act_of<Walker2d>, 1000,
       "v3's semantics on Gymnasium's mujoco bindings", kWalker2dD4rl, 5000, 2500, 1000,
       factory<Walker2d>(Walker2dConfig::v3())},
      {"walker2d", "v5", "Walker2d-v5", obs_of<Walker2d>, act_of<Walker2d>, 1000,
       "v4, both feet with friction 1.9 (the right's is 0.9 before), the healthy reward only while healthy",
       kWalker2dD4rl, 5000, 2500, 1000, factory<Walker2d>(Walker2dConfig::v5())},
      {"ant", "v3", "Ant-v3", Ant::obs_dim_of(AntConfig::v3()), act_of<Ant>, 1000,
       "quadruped; ends when z leaves [0.2, 1]; 84 contact forces observed, all 0 (mujoco-py); D4RL's data", kAntD4rl,
       6000, 3000, 1000, factory<Ant>(AntConfig::v3())},
      {"ant", "v4", "Ant-v4", Ant::obs_dim_of(AntConfig::v4()), act_of<Ant>, 1000,
       "v3 without the contact forces in the observation or the reward (27-dim)", kAntD4rl, 6000, 3000, 1000,
       factory<Ant>(AntConfig::v4())},
      {"ant", "v5", "Ant-v5", Ant::obs_dim_of(AntConfig::v5()), act_of<Ant>, 1000,
       "contact forces computed, cfrc_ext[1:] observed (105-dim) and charged; healthy reward only while healthy",
       kAntD4rl, 6000, 3000, 1000, factory<Ant>(AntConfig::v5())},
  };
}

// Gymnasium's other MuJoCo envs with Minari datasets, v5 only.
static std::vector<EnvSpec> minari_v5_specs() {
  return {
      // Gymnasium's other MuJoCo envs with Minari datasets, v5 only. No published references or DT
      // targets: scores use a Minari dataset's own references (else none: NaN), and training evaluates
      // at the dataset's best and mean episode returns (DecisionTrainer).
      {"invertedpendulum", "v5", "InvertedPendulum-v5", obs_of<InvertedPendulum>, act_of<InvertedPendulum>, 1000,
       "cart-pole; 1 per step while |angle| <= 0.2, 0 on the falling step; actions in [-3, 3]",
       no_reference("invertedpendulum"), 0, 0, 1000, factory<InvertedPendulum>(InvertedPendulumConfig{})},
      {"inverteddoublependulum", "v5", "InvertedDoublePendulum-v5", obs_of<InvertedDoublePendulum>,
       act_of<InvertedDoublePendulum>, 1000,
       "double cart-pole; 10 alive - tip distance and velocity penalties; ends when the tip's z <= 1",
       no_reference("inverteddoublependulum"), 0, 0, 1000,
       factory<InvertedDoublePendulum>(InvertedDoublePendulumConfig{})},
      {"reacher", "v5", "Reacher-v5", obs_of<Reacher>, act_of<Reacher>, 50,
       "two-link arm to a random target; -distance - |a|^2; 50 steps", no_reference("reacher"), 0, 0, 1000,
       factory<Reacher>(ReacherConfig{})},
      {"pusher", "v5", "Pusher-v5", obs_of<Pusher>, act_of<Pusher>, 100,
       "7-joint arm pushing a cylinder to a goal; -0.5 near - dist - 0.1 |a|^2; actions in [-2, 2]; 100 steps",
       no_reference("pusher"), 0, 0, 1000, factory<Pusher>(PusherConfig{})},
      {"humanoid", "v5", "Humanoid-v5", obs_of<Humanoid>, act_of<Humanoid>, 1000,
       "biped; 1.25 mass-centre x-velocity + 5 healthy - 0.1 |a|^2 - contact cost; ends when z leaves (1, 2)",
       no_reference("humanoid"), 0, 0, 1000, factory<Humanoid>(HumanoidConfig{})},
      {"swimmer", "v5", "Swimmer-v5", obs_of<Swimmer>, act_of<Swimmer>, 1000,
       "three-link swimmer in a viscous fluid; x-velocity - 1e-4 |a|^2", no_reference("swimmer"), 0, 0, 1000,
       factory<Swimmer>(SwimmerConfig{})},
  };
}

const std::vector<EnvSpec>& env_specs() {
  static const std::vector<EnvSpec> specs = [] {
    auto rows = locomotion_specs();
    auto more = minari_v5_specs();
    rows.insert(rows.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
    return rows;
  }();
  return specs;
}

namespace {
std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string known_names() {
  std::string out;
  for (const auto& s : env_specs()) out += (out.empty() ? "" : ", ") + s.gym_id;
  return out + "; a bare name (hopper: v3) or a D4RL dataset name such as hopper-medium-v2";
}

bool is_d4rl_quality(const std::string& q) {
  static const std::vector<std::string> qualities{"random",        "medium",        "expert",
                                                  "medium-replay", "medium-expert", "full-replay"};
  return std::find(qualities.begin(), qualities.end(), q) != qualities.end();
}

const EnvSpec* find_row(const std::string& robot, const std::string& version) {
  for (const auto& spec : env_specs())
    if (spec.name == robot && spec.version == version) return &spec;
  return nullptr;
}

// D4RL: <env>-<quality>-v<k>, e.g. hopper-medium-replay-v2.
bool is_d4rl_dataset_name(const std::string& n, const std::string& robot) {
  const std::string prefix = robot + "-";
  if (n.rfind(prefix, 0) != 0) return false;
  const auto dash = n.rfind("-v");
  return dash != std::string::npos && dash > prefix.size() && dash + 2 < n.size() &&
         std::all_of(n.begin() + dash + 2, n.end(), ::isdigit) &&
         is_d4rl_quality(n.substr(prefix.size(), dash - prefix.size()));
}
}  // namespace

ResolvedName resolve_env_name(const std::string& name) {
  const std::string n = lower(name);
  for (const auto& spec : env_specs())
    if (n == lower(spec.gym_id)) return {&spec, ""};
  for (const auto& spec : env_specs()) {
    if (spec.version != "v3") continue;
    if (n == spec.name) return {&spec, ""};
    if (is_d4rl_dataset_name(n, spec.name)) return {&spec, n};
  }
  const EnvSpec* newest = nullptr;  // a bare name without a v3 row: its newest version (swimmer: Swimmer-v5)
  for (const auto& spec : env_specs())
    if (n == spec.name) newest = &spec;
  if (newest) return {newest, ""};
  std::vector<std::string> names;
  for (const auto& row : env_specs()) names.push_back(row.gym_id), names.push_back(row.name);
  throw EnvError("unknown env '" + name + "'" + base::did_you_mean(name, names) + "; known: " + known_names());
}

const EnvSpec& env_spec(const std::string& name) { return *resolve_env_name(name).spec; }

std::unique_ptr<Env> make_env(const std::string& name, const EnvOptions& options) {
  return resolve_env_name(name).spec->make(options);
}

ScoreReference score_reference(const std::string& name) { return env_spec(name).reference; }

namespace {
// mujoco/<robot>/<name>-v<k> (Minari's MuJoCo ids) anywhere in `text`: the v5 row.
const EnvSpec* minari_mujoco_row(const std::string& text) {
  const std::string t = lower(text);
  for (const auto& spec : env_specs())
    if (spec.version == "v5" && t.find("mujoco/" + spec.name + "/") != std::string::npos) return &spec;
  return nullptr;
}
}  // namespace

std::optional<DatasetEnv> dataset_env(const std::map<std::string, std::string>& metadata, const std::string& path) {
  for (const char* key : {"env_name", "env", "environment", "env_id"}) {
    const auto it = metadata.find(key);
    if (it == metadata.end()) continue;
    try {
      return DatasetEnv{resolve_env_name(it->second).spec->gym_id, std::string("metadata/") + key, it->second, ""};
    } catch (const EnvError&) {
    }
    if (auto ref = score_reference_for(it->second))  // Hopper-v2 and other spellings of a known robot: v3
      return DatasetEnv{find_row(ref->env, "v3")->gym_id, std::string("metadata/") + key, it->second, ""};
  }
  const std::string v5_note = "no env_spec: Minari's MuJoCo datasets were recorded in Gymnasium's v5";
  const auto id = metadata.find("dataset_id");
  if (id != metadata.end())
    if (const auto* row = minari_mujoco_row(id->second))
      return DatasetEnv{row->gym_id, "metadata/dataset_id", id->second, v5_note};
  // A D4RL file name (hopper-medium-v2.hdf5) before the folder, which may be named like Minari's.
  if (auto ref = score_reference_for(path)) return DatasetEnv{find_row(ref->env, "v3")->gym_id, "file name", "", ""};
  if (const auto* row = minari_mujoco_row(std::filesystem::path(path).generic_string()))
    return DatasetEnv{row->gym_id, "folder", "", v5_note};
  return std::nullopt;
}

DatasetReference dataset_reference(const std::map<std::string, std::string>& metadata, const EnvSpec& env) {
  const auto low = metadata.find("ref_min_score"), high = metadata.find("ref_max_score");
  double min = 0, max = 0;
  if (low != metadata.end() && high != metadata.end() && base::parse_real(low->second, min) &&
      base::parse_real(high->second, max) && std::isfinite(min) && std::isfinite(max) && max != min)
    return {{env.name, min, max}, "dataset (ref_min_score, ref_max_score)"};
  if (env.reference.expert_return == env.reference.random_return) return {env.reference, "none"};
  return {env.reference, "D4RL"};
}

std::string mujoco_version() { return mj_versionString(); }

}  // namespace aaren::envs
