// aaren collect: make a D4RL-layout dataset by rolling out a behaviour policy.
#include <iostream>

#include "base/format.h"
#include "agents/training/collect.h"
#include "apps/cli.h"
#include "apps/commands.h"
#include "data/transitions.h"

namespace aaren::cli {

int run_collect(int argc, char** argv) {
  namespace po = boost::program_options;
  CollectConfig c;
  po::options_description options("Options");
  options.add_options()
      ("env", po::value(&c.env)->required(), "environment")
      ("policy", po::value(&c.policy)->default_value(c.policy), "'random' or a policy file from 'aaren sac'")
      ("actions", po::value(&c.actions),
       "instead of a policy: play the actions of this .hdf5 in order (with the seed of the run that took them, "
       "its episodes again; default --transitions: all of them)")
      ("noise", po::value(&c.noise)->default_value(c.noise), "Gaussian action noise std (then clipped)")
      ("deterministic", po::bool_switch(&c.deterministic), "SAC policy: act with tanh(mean) instead of sampling")
      ("transitions", po::value(&c.transitions)->default_value(0), "collect this many transitions")
      ("episodes", po::value(&c.episodes)->default_value(0), "... or this many whole episodes")
      ("seed", po::value(&c.seed)->default_value(c.seed), "random seed")
      ("model-xml", po::value(&c.env_options.model_xml), "MJCF file instead of the built-in model")
      ("out", po::value(&c.out)->required(), "output .hdf5 file (D4RL layout)");
  po::variables_map vm;
  if (!parse(argc, argv, "--env NAME --out FILE.hdf5 (--transitions N | --episodes N) [options]", options, vm))
    return kExitOk;
  for (int i = 0; i < argc; ++i) c.command_line += (i ? " " : "") + std::string(argv[i]);
  try {
    c.validate();
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  require_writable("out", c.out);
  if (c.policy != "random") require_not_input("out", c.out, {c.policy});
  if (!c.actions.empty()) require_not_input("out", c.out, {c.actions});
  data::Transitions t;
  try {
    t = collect(c, [](int64_t steps, int64_t episodes) {
      std::cerr << "\r[collect] " << base::count_of(steps, "transition") << ", " << base::count_of(episodes, "episode") << std::flush;
    });
  } catch (const envs::EnvError& e) {
    throw InputError(e.what());
  } catch (const data::DataError& e) {
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
