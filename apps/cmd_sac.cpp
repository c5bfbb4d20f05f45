// aaren sac: train a Soft Actor-Critic behaviour policy online.
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>

#include <nlohmann/json.hpp>

#include "agents/training/sac.h"
#include "apps/cli.h"
#include "apps/commands.h"
#include "base/atomic_file.h"
#include "base/svg_plot.h"

namespace aaren::cli {

namespace {
void report(const SacConfig& c, const SacResult& result);
}  // namespace

int run_sac(int argc, char** argv) {
  namespace po = boost::program_options;
  SacConfig c;
  po::options_description options("Options (defaults: CleanRL's SAC)");
  options.add_options()
      ("env", po::value(&c.env)->default_value(c.env), "environment")
      ("steps", po::value(&c.steps)->default_value(c.steps), "env steps")
      ("out", po::value(&c.out_dir)->required(), "output folder: log.csv, eval.csv, policy_*.pt, config.json, plot")
      ("learning-starts", po::value(&c.learning_starts)->default_value(c.learning_starts), "random steps first")
      ("batch-size", po::value(&c.batch_size)->default_value(c.batch_size), "minibatch size")
      ("hidden", po::value(&c.hidden)->default_value(c.hidden), "MLP width (2 hidden layers)")
      ("buffer-size", po::value(&c.buffer_size)->default_value(c.buffer_size), "replay capacity")
      ("gamma", po::value(&c.gamma)->default_value(c.gamma), "discount")
      ("tau", po::value(&c.tau)->default_value(c.tau), "target smoothing")
      ("policy-lr", po::value(&c.policy_lr)->default_value(c.policy_lr), "actor learning rate")
      ("q-lr", po::value(&c.q_lr)->default_value(c.q_lr), "critic (and alpha) learning rate")
      ("policy-frequency", po::value(&c.policy_frequency)->default_value(c.policy_frequency), "delayed actor updates")
      ("alpha", po::value(&c.alpha)->default_value(c.alpha), "entropy weight (initial value when autotuned)")
      ("no-autotune", po::bool_switch(), "keep alpha fixed")
      ("eval-every", po::value(&c.eval_every)->default_value(c.eval_every), "evaluate every N steps (0: never)")
      ("eval-episodes", po::value(&c.eval_episodes)->default_value(c.eval_episodes), "episodes per evaluation")
      ("checkpoint-steps", po::value(&c.checkpoint_steps)->multitoken(), "save the policy at these steps")
      ("checkpoint-returns", po::value(&c.checkpoint_returns)->multitoken(),
       "save the policy when the evaluation return first reaches these")
      ("stop-at-return", po::value(&c.stop_at_return),
       "stop once an evaluation's mean return reaches this (default: run all --steps)")
      ("dump-replay", po::value(&c.dump_replay), "write the replay buffer to this .hdf5 (D4RL layout)")
      ("model-xml", po::value(&c.env_options.model_xml), "MJCF file instead of the built-in model")
      ("seed", po::value(&c.seed)->default_value(c.seed), "random seed")
      ("threads", po::value(&c.threads)->default_value(c.threads), "LibTorch threads")
      ("state-every", po::value(&c.state_every)->default_value(c.state_every),
       "save the whole training state to OUT/resume.pt at the first episode end after every N steps (0: never)")
      ("resume", po::bool_switch(&c.resume),
       "continue from OUT/resume.pt when it exists (the same numbers as an uninterrupted run)");
  po::variables_map vm;
  if (!parse(argc, argv, "--out DIR [options]", options, vm)) return kExitOk;
  c.autotune = !vm["no-autotune"].as<bool>();
  for (int i = 0; i < argc; ++i) c.command_line += (i ? " " : "") + std::string(argv[i]);
  try {
    c.validate();
    envs::resolve_env_name(c.env);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  } catch (const envs::EnvError& e) {
    throw InputError(e.what());
  }
  const auto config = c.to_json();
  require_writable("out", c.out_dir, /*folder=*/true);
  if (!c.dump_replay.empty()) require_writable("dump-replay", c.dump_replay);
  base::remove_stale_temp_files(c.out_dir);  // policy_*.pt.tmp.<pid> of a killed run
  base::write_file_atomically(c.out_dir + "/config.json", config.dump(2) + "\n");
  std::cout << "config: " << config.dump() << std::endl;

  SacResult result;
  try {
    result = train_sac(c, [&](const SacProgress& p) {
    std::cerr << "\r[sac] step " << p.step << "/" << c.steps << " (" << std::fixed << std::setprecision(1)
              << 100.0 * p.step / c.steps << "%) " << std::setprecision(0) << p.steps_per_second << " steps/s, ETA "
              << format_duration(p.eta_seconds) << " | episodes " << p.episodes << ", return (last 10) "
              << std::setprecision(1) << p.recent_mean_return << ", eval " << p.eval_return << ", alpha "
              << std::setprecision(3) << p.alpha << "   " << std::flush;
    });
  } catch (const std::invalid_argument& e) {  // a resume state from another run, or a damaged one
    throw InputError(e.what());
  }
  std::cerr << "\n";
  report(c, result);
  return kExitOk;
}

namespace {
void report(const SacConfig& c, const SacResult& result) {
  if (!result.eval_steps.empty()) {
    base::Series s{"deterministic evaluation", {}, result.eval_returns};
    for (auto x : result.eval_steps) s.x.push_back(static_cast<double>(x));
    base::write_svg(c.out_dir + "/eval.svg", {s},
                     {"SAC on " + c.env + " (seed " + std::to_string(c.seed) + ")", "env steps", "mean return"});
    double best = -1e300;
    for (double r : result.eval_returns) best = std::max(best, r);
    std::cout << "evaluation: last " << result.eval_returns.back() << ", best " << best << " (" << c.eval_episodes
              << " episodes each)\n";
  }
  if (result.stopped_early)
    std::cout << "stopped at step " << result.steps_done << ": the evaluation reached --stop-at-return "
              << c.stop_at_return << "\n";
  std::cout << "trained " << result.steps_done << " env steps in " << format_duration(result.seconds)
            << "; policies:";
  for (const auto& p : result.checkpoints) std::cout << " " << p;
  std::cout << "\n";
}
}  // namespace

}  // namespace aaren::cli
