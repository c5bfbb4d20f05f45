// aaren sac: train a Soft Actor-Critic behaviour policy online.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <optional>

#include <nlohmann/json.hpp>

#include "agents/training/sac.h"
#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/config_options.h"
#include "apps/provenance.h"
#include "base/allocator.h"
#include "base/atomic_file.h"
#include "base/format.h"
#include "base/svg_plot.h"

namespace aaren::cli {

namespace {
void report(const SacConfig& c, const SacResult& result);
}  // namespace

namespace {
// --resume DIR (or DIR/resume.pt): the run's folder.
std::string run_folder(const std::string& resume) {
  const std::filesystem::path p(resume);
  return std::filesystem::is_regular_file(p) ? p.parent_path().string() : p.string();
}

// A stopped run's settings: its folder's config.json (keys its table has
// renamed are read under their former names).
SacConfig stored_config(const std::string& folder) {
  const std::string path = folder + "/config.json";
  std::ifstream in(path);
  if (!in) throw InputError("--resume " + folder + ": no config.json there (not a folder of 'aaren sac')");
  try {
    auto j = nlohmann::json::parse(in);
    j.erase("resume");      // how it was started last time, not a setting
    j.erase("provenance");  // what ran it: train_sac continues that record
    return base::fields_from_json(j, SacConfig::fields());
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path + ": not JSON (" + std::string(e.what()) + ")");
  } catch (const std::invalid_argument& e) {
    throw InputError(path + ": " + e.what());
  }
}

// --resume DIR: the stored run, with the settings a resumed run may change
// taken from the flags that set them (as train's --resume does). Two act on
// this invocation only and are never inherited: --stop-at-return (a run
// stopped at a return continues past it unless asked again) and
// --dump-replay. A flag that would change any other stored setting is
// refused: the saved state belongs to those settings.
SacConfig resumed_sac_config(const boost::program_options::variables_map& vm, const SacConfig& given) {
  const auto folder = run_folder(given.resume);
  const auto stored = stored_config(folder);
  if (cli::given(vm, "out") && !same_folder(given.out_dir, folder))
    throw UsageError("--out " + given.out_dir + ": --resume " + folder + " continues that folder's run; give no --out");
  for (const auto& f : SacConfig::fields()) {
    if (f.on_resume || f.flag == "out" || !cli::given(vm, f.flag) || f.get(given) == f.get(stored)) continue;
    throw UsageError("--" + f.flag + " " + base::display_value(f.get(given)) + ": the run in " + folder + " has " +
                     base::display_value(f.get(stored)) + ", and a resumed run keeps it (start a new run with --out)");
  }
  SacConfig c = base::resumed_config(stored, given, SacConfig::fields(), [&](const auto& f) {
    return cli::given(vm, f.flag) || f.flag == "stop-at-return" || f.flag == "dump-replay";
  });
  c.out_dir = c.resume = folder;
  return c;
}
}  // namespace

int run_sac(int argc, char** argv) {
  namespace po = boost::program_options;
  SacConfig c;
  po::options_description options("Options (defaults: CleanRL's SAC)");
  add_config_options(options, SacConfig::fields(), c);
  options.add_options()("no-autotune", po::bool_switch(), "keep alpha fixed")(
      "overwrite", po::bool_switch(),
      "replace the run in --out (a new run) and the --dump-replay file (refused without it)");
  po::variables_map vm;
  if (!parse(argc, argv, "--out DIR [options] | --resume DIR [options]", options, vm)) return kExitOk;
  apply_config_options(vm, SacConfig::fields(), c);
  base::keep_freed_memory_for_reuse();  // each update's tensors reuse the last one's memory (base/allocator.h)
  if (given(vm, "resume"))
    c = resumed_sac_config(vm, c);
  else if (c.out_dir.empty())
    throw UsageError("--out is required (or --resume DIR to continue a run)");
  if (given(vm, "no-autotune")) c.autotune = false;
  for (int i = 0; i < argc; ++i) c.command_line += (i ? " " : "") + std::string(argv[i]);
  c.provenance = provenance(argc, argv);
  try {
    c.validate();
    envs::resolve_env_name(c.env);
    envs::make_env(c.env, c.env_options);  // a --model-xml that does not load: refused before --out exists
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  } catch (const envs::EnvError& e) {
    throw InputError(e.what());
  }
  const auto config = c.to_json();
  const bool overwrite = vm["overwrite"].as<bool>();
  if (overwrite && !c.resume.empty() && c.dump_replay.empty())
    throw UsageError("--overwrite replaces a run (a new one) or --dump-replay's file; --resume continues the run");
  if (!c.dump_replay.empty()) require_new_file("dump-replay", c.dump_replay, overwrite);
  // A new run never writes into another's folder (its policies would mix with the old ones):
  // refused, or with --overwrite the old run moved aside until this one has started.
  std::optional<RunAside> replaced;
  std::error_code ec;
  const bool resumable = std::filesystem::is_regular_file(c.out_dir + "/resume.pt", ec);  // what --resume needs
  if (c.resume.empty() && replaces_a_run_in(c.out_dir, overwrite, resumable)) replaced.emplace(c.out_dir);
  require_writable("out", c.out_dir, /*folder=*/true);
  if (!c.dump_replay.empty()) require_writable("dump-replay", c.dump_replay);
  base::remove_stale_temp_files(c.out_dir);  // policy_*.pt.aaren-tmp.<pid> of a killed run
  std::cout << "config: " << config.dump() << std::endl;

  SacResult result;
  try {
    result = train_sac(c, [&](const SacProgress& p) {
      if (replaced) replaced->commit();  // it has started
      std::cerr << "\r[sac] step " << p.step << "/" << c.steps << " (" << std::fixed << std::setprecision(1)
                << 100.0 * p.step / c.steps << "%) " << std::setprecision(0) << p.steps_per_second << " steps/s, ETA "
                << format_duration(p.eta_seconds) << " | episodes " << p.episodes << ", return (last 10) "
                << std::setprecision(1) << p.recent_mean_return << ", eval " << p.eval_return << ", alpha "
                << std::setprecision(3) << p.alpha << "   " << std::flush;
    });
  } catch (const std::invalid_argument& e) {  // a resume state from another run, or a damaged one
    throw InputError(e.what());
  }
  if (replaced) replaced->commit();
  std::cerr << "\n";
  report(c, result);
  return kExitOk;
}

namespace {
void report(const SacConfig& c, const SacResult& result) {
  if (!result.eval_steps.empty()) {
    base::Series s{
        c.eval_sampled ? "evaluation (sampled actions)" : "deterministic evaluation", {}, result.eval_returns};
    for (auto x : result.eval_steps) s.x.push_back(static_cast<double>(x));
    base::write_svg(c.out_dir + "/eval.svg", {s},
                    {"SAC on " + c.env + " (seed " + std::to_string(c.seed) + ")", "env steps", "mean return"});
    double best = -1e300;
    for (double r : result.eval_returns) best = std::max(best, r);
    std::cout << "evaluation: last " << base::three_significant(result.eval_returns.back()) << ", best "
              << base::three_significant(best) << " (" << base::count_of(c.eval_episodes, "episode") << " each)\n";
  }
  if (result.stopped_early)
    std::cout << "stopped at step " << result.steps_done << ": the evaluation reached --stop-at-return "
              << c.stop_at_return << "\n";
  std::cout << "trained " << result.steps_done << " env steps in " << format_duration(result.seconds) << "; policies:";
  for (const auto& p : result.checkpoints) std::cout << " " << p;
  std::cout << "\n";
}
}  // namespace

}  // namespace aaren::cli
