#include "envs/registry.h"

#include <algorithm>
#include <cctype>

#include "envs/ant.h"
#include "envs/half_cheetah.h"
#include "envs/hopper.h"
#include "envs/walker2d.h"

namespace aaren::envs {

const std::vector<EnvSpec>& env_specs() {
  static const std::vector<EnvSpec> specs{
      {"hopper", "Hopper-v3", 11, 3, "one-legged hopper; ends when it falls (z <= 0.7, |angle| >= 0.2)"},
      {"halfcheetah", "HalfCheetah-v3", 17, 6, "planar cheetah; never terminates"},
      {"walker2d", "Walker2d-v3", 17, 6, "planar biped; ends when z leaves (0.8, 2) or |angle| >= 1"},
      {"ant", "Ant-v3", 111, 8, "quadruped; ends when z leaves [0.2, 1]; v4: 27-dim observation"},
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

bool is_d4rl_quality(const std::string& q) {
  static const std::vector<std::string> qualities{"random",         "medium",        "expert", "medium-replay",
                                                  "medium-expert", "full-replay"};
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

std::unique_ptr<Env> make_env(const std::string& name, const EnvOptions& options) {
  const auto r = resolve_env_name(name);
  const std::string& env = r.spec->name;
  if (env == "hopper") {
    HopperConfig c;
    c.model_xml = options.model_xml;
    return std::make_unique<Hopper>(c);
  }
  if (env == "walker2d") {
    Walker2dConfig c;
    c.model_xml = options.model_xml;
    return std::make_unique<Walker2d>(c);
  }
  if (env == "halfcheetah") {
    HalfCheetahConfig c;
    c.model_xml = options.model_xml;
    return std::make_unique<HalfCheetah>(c);
  }
  AntConfig c = r.version == "v4" ? AntConfig::v4() : AntConfig::v3();
  c.model_xml = options.model_xml;
  return std::make_unique<Ant>(c);
}

ScoreReference score_reference(const std::string& name) {
  const auto r = resolve_env_name(name);
  auto ref = score_reference_for(r.spec->name);
  if (!ref) throw EnvError("no D4RL score reference for " + r.spec->name);
  return *ref;
}

}  // namespace aaren::envs
