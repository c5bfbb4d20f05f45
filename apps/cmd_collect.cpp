// aaren collect: make a D4RL-layout dataset by rolling out a behaviour policy.
#include <iostream>

#include "agents/acting/rollout.h"
#include "agents/models/device.h"
#include "agents/training/collect.h"
#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/config_options.h"
#include "apps/provenance.h"
#include "base/format.h"
#include "data/transitions.h"

namespace aaren::cli {

namespace {
// collect's settings, one described field each: its flags, --help and
// docs/CLI-REFERENCE.md come from this table; the file's metadata records them.
const std::vector<base::ConfigField<CollectConfig>>& collect_fields() {
  using C = CollectConfig;
  using base::field;
  static const std::vector<base::ConfigField<C>> table{
      field("env", &C::env, "environment (see 'aaren envs')"),
      field("policy", &C::policy, "'random' or a policy file from 'aaren sac'"),
      field("actions", &C::actions,
            "instead of a policy: play the actions of this .hdf5 in order (with the seed of the run that took them, "
            "its episodes again; default --transitions: all of them)"),
      field("noise", &C::noise, "Gaussian action noise std (then clipped)"),
      field("deterministic", &C::deterministic, "SAC policy: act with tanh(mean) instead of sampling",
            {"", false, std::nullopt, true}),
      field("transitions", &C::transitions, "collect this many transitions"),
      field("episodes", &C::episodes, "... or this many whole episodes"),
      field("seed", &C::seed, "random seed"),
      field("threads", &C::threads, "LibTorch threads for a SAC policy"),
      base::field_at<C>(
          "model-xml", [](C & c) -> auto& { return c.env_options.model_xml; },
          "MJCF file instead of the built-in model"),
      field("out", &C::out, "output .hdf5 file (D4RL layout)"),
      field("overwrite", &C::overwrite, "replace --out if it exists (refused without it)",
            {"", false, std::nullopt, true}),
  };
  return table;
}
}  // namespace

int run_collect(int argc, char** argv) {
  CollectConfig c;
  boost::program_options::variables_map vm;
  if (!parse_config(argc, argv, "--env NAME --out FILE.hdf5 (--transitions N | --episodes N) [options]",
                    collect_fields(), c, vm, nullptr, {"env", "out"}))
    return kExitOk;
  for (int i = 0; i < argc; ++i) c.command_line += (i ? " " : "") + std::string(argv[i]);
  c.provenance = provenance(argc, argv).dump();
  try {
    c.validate();
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  if (c.policy != "random") require_not_input("out", c.out, {c.policy});
  if (!c.actions.empty()) require_not_input("out", c.out, {c.actions});
  require_new_file("out", c.out, c.overwrite);
  require_writable("out", c.out);
  if (c.policy != "random") set_cpu_threads(c.threads);
  data::Transitions t;
  try {
    t = collect(c, [](int64_t steps, int64_t episodes) {
      std::cerr << "\r[collect] " << base::count_of(steps, "transition") << ", " << base::count_of(episodes, "episode")
                << std::flush;
    });
  } catch (const NonFiniteActionError& e) {  // a SAC policy file's actor: random actions are finite
    throw non_finite_action(c.policy, e.what());
  } catch (const envs::EnvError& e) {
    throw InputError(e.what());
  } catch (const data::DataError& e) {
    throw InputError(e.what());
  } catch (const std::invalid_argument& e) {  // --policy: not a SAC policy, or one for another env
    throw InputError(e.what());
  }
  std::cerr << "\n";
  const auto split = data::split_episodes(t);
  std::cout << c.out << ": " << base::count_of(t.size, "transition") << ", "
            << base::count_of(static_cast<long long>(split.episodes.size()), "complete episode")
            << (split.episodes.empty() ? "" : ", mean return " + std::to_string(split.mean_return()))
            << (split.partial_steps ? ", " + std::to_string(split.partial_steps) + " trailing partial steps" : "")
            << "\n";
  return kExitOk;
}

}  // namespace aaren::cli
