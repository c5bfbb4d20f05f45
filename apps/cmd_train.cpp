// aaren train: offline training of a decision agent (a registered backbone: Aaren, Transformer, LSTM).
#include <signal.h>

#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "agents/models/backbones.h"
#include "agents/training/decision_trainer.h"
#include "agents/training/distributed.h"
#include "agents/training/seed_summary.h"
#include "agents/training/training_run.h"
#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/config_options.h"
#include "apps/provenance.h"
#include "apps/seed_group.h"
#include "base/allocator.h"
#include "base/did_you_mean.h"
#include "base/format.h"
#include "base/numbers.h"
#include "base/svg_plot.h"
#include "envs/env.h"

namespace aaren::cli {

namespace {
using base::three_significant;

void print_progress(const std::string& backbone, const TrainProgress& p) {
  std::cerr << "\r[train " << backbone << "] update " << p.update << "/" << p.updates << " (" << std::fixed
            << std::setprecision(1) << 100.0 * p.update / p.updates << "%) " << std::setprecision(1)
            << p.updates_per_second << " upd/s, ETA " << format_duration(p.eta_seconds) << " | loss "
            << std::setprecision(4) << p.loss << " lr " << std::scientific << std::setprecision(2) << p.lr
            << std::fixed;
  if (!p.last_evals.empty()) {  // nothing before the first evaluation
    std::cerr << " | score at update " << p.last_evals.front().update << ":";
    for (const auto& e : p.last_evals)
      std::cerr << " " << std::setprecision(1) << e.score_mean << " (target " << std::setprecision(0) << e.target
                << ")";
  }
  std::cerr << "   " << std::flush;
}

// OUT/eval.svg from OUT/eval.csv (so a resumed run's curve has its whole
// history): the normalised score against updates, one line per target, and
// the level of the data it trains on.
void plot_evaluations(const TrainConfig& c) {
  std::vector<EvalResult> evals;
  try {
    evals = read_eval_csv(c.out_dir + "/eval.csv");
  } catch (const std::runtime_error& e) {
    std::cerr << "warning: no eval.svg: " << e.what() << "\n";
  }
  const auto series = eval_curves(evals, "");
  if (series.empty()) return;
  base::PlotOptions options{
      std::string(to_string(c.backbone)) + " on " + std::filesystem::path(c.dataset).filename().string(), "updates",
      "D4RL normalised score"};
  const double level = behaviour_score(c.out_dir);
  if (std::isfinite(level)) options.references.push_back({level, "the data's level " + three_significant(level)});
  options.caption = c.out_dir + ": seed " + std::to_string(c.seed) + ", " + std::to_string(c.eval_episodes) +
                    (c.eval_episodes == 1 ? " episode" : " episodes") + " per point";
  base::write_svg(c.out_dir + "/eval.svg", series, options);
}

void report(const TrainConfig& c, const TrainResult& r) {
  plot_evaluations(c);
  if (!r.evals.empty()) {
    const int64_t last = r.evals.back().update;
    std::cout << "evaluation at update " << last << " (" << c.eval_episodes
              << (c.eval_episodes == 1 ? " episode" : " episodes") << " per target; the data's mean episode return "
              << three_significant(r.dataset_return_mean) << "):\n";
    for (const auto& e : r.evals)
      if (e.update == last)
        std::cout << "  target " << three_significant(e.target) << ": return " << three_significant(e.return_mean)
                  << " +- " << three_significant(e.return_std) << ", score " << three_significant(e.score_mean)
                  << " +- " << three_significant(e.score_std) << "\n";
  }
  std::cout << "trained in " << format_duration(r.seconds) << "; checkpoint " << r.checkpoint << "\n";
}

// SIGINT/SIGTERM: finish the update in progress, write a checkpoint and the
// logs, exit with 128 + the signal. A second Ctrl-C ends the process at once
// (SA_RESETHAND restores SIGINT's default action); SIGTERM stays graceful however
// often it comes, because senders repeat it: timeout(1) signals the command and
// then its whole process group, and batch schedulers signal every process of a
// job. (SIGKILL is there for a run that must end now.)
void stop_on_signal(int signal) { request_training_stop(signal); }

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = stop_on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  action.sa_flags = SA_RESETHAND;
  sigaction(SIGINT, &action, nullptr);
}

// --config FILE: a run's config.json (or any JSON object of its keys) as the
// starting point; flags given beside it override it.
std::optional<std::string> config_file_argument(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--config") {
      if (i + 1 >= argc) throw UsageError("--config needs a file (a run's config.json)");
      return std::string(argv[i + 1]);
    }
    if (a.rfind("--config=", 0) == 0) return a.substr(9);
  }
  return std::nullopt;
}

// A number read from a settings file meets its flag's range, as on the command line: JSON's
// null reads as infinity (what an infinite value is written as), which no training flag takes.
void check_number_in_file(const std::string& path, const std::string& key, const std::string& flag,
                          const nlohmann::json& value) {
  for (const auto& v : value.is_array() ? value : nlohmann::json::array({value})) {
    if (v.is_null()) throw InputError("--config " + path + ": '" + key + "' is null: expected a finite number");
    // --threads' limit is this machine's: a run from a larger one is read, and its threads set by the flag.
    if (!v.is_number() || flag == "threads") continue;
    try {
      check_flag_range(flag, v.get<double>(), v.dump());
    } catch (const UsageError& e) {
      throw InputError("--config " + path + ": '" + key + "': " + e.what());
    }
  }
}

// A run's config.json, or a seed group's seeds.json (its "config" and its "seeds").
TrainConfig load_config_file(const std::string& path, std::vector<uint64_t>& group_seeds) {
  std::ifstream in(path);
  if (!in) throw InputError("--config " + path + ": cannot read it");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw InputError("--config " + path + ": not JSON (" + std::string(e.what()) + ")");
  }
  if (!j.is_object()) throw InputError("--config " + path + ": expected a JSON object of settings");
  if (j.contains("seeds") && j.contains("config")) {  // a seed group's seeds.json
    try {
      group_seeds = base::detail::from_json_value<std::vector<uint64_t>>(j.at("seeds"), "seeds");
    } catch (const std::exception& e) {  // -1 or 1.5 are not seeds (nlohmann alone reads 2^64 - 1 and 1)
      throw InputError("--config " + path + ": 'seeds' must be a list of seeds (" + e.what() + ")");
    }
    j = nlohmann::json(j.at("config"));
    if (!j.is_object()) throw InputError("--config " + path + ": 'config' must be a JSON object of settings");
  }
  TrainConfig c;
  for (const auto& [key, value] : j.items()) {
    // What ran it, and (in files written before it moved under provenance) the
    // checkpoint it continued: history, not settings. A new run starts afresh.
    if (key == "provenance" || key == "resume") continue;
    const auto& fields = TrainConfig::fields();
    const auto f = std::find_if(fields.begin(), fields.end(), [&](const auto& f) { return f.answers_to(key); });
    if (f == fields.end()) {
      std::vector<std::string> keys;
      for (const auto& field : fields) keys.push_back(field.key);
      throw InputError("--config " + path + ": unknown key '" + key + "'" + base::did_you_mean(key, keys));
    }
    try {
      f->set_json(c, value);
    } catch (const std::invalid_argument& e) {  // a value not of the field's type or range, a name not among its values
      throw InputError("--config " + path + ": " + e.what());
    } catch (const std::exception&) {
      throw InputError("--config " + path + ": '" + key + "' has the wrong type (" + value.dump() + "): expected " +
                       base::expected_json(f->type));
    }
    check_number_in_file(path, key, f->flag, f->get(c));
  }
  return c;
}

std::string resumed_folder(const std::string& resume) {
  const std::filesystem::path p(resume);
  return std::filesystem::is_directory(p) ? p.string() : p.parent_path().string();
}

// Whether `aaren train --resume DIR` finds what it continues from in DIR: a
// seed group's seeds.json, or a run's checkpoint.
bool resumable(const std::string& dir) { return is_seed_group(dir) || holds_a_checkpoint_to_resume(dir); }

// Whether a run folder holds a checkpoint (*.pt): a run that got that far is kept.
bool holds_checkpoint(const std::string& folder) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(folder, ec))
    if (entry.path().extension() == ".pt") return true;
  return false;
}

// Whether a run got past its input: a checkpoint, or its train_log.csv, which a run opens once its
// input is resolved (as it commits --overwrite's replacement). Such a run is kept however it stops
// (a loss at its first update or an evaluation that diverged): its logs show the way it went. One
// refused at its input has neither.
bool run_started(const std::string& folder) {
  std::error_code ec;
  return holds_checkpoint(folder) || std::filesystem::exists(folder + "/train_log.csv", ec);
}

// A new run never writes into another run's folder: --out that holds a run is
// refused, or with --overwrite moved aside whole (one rename) and deleted once
// the new run has started (under --nproc, once its ranks have finished or
// written a checkpoint); a new run that fails on its input puts it back.
class OutFolderGuard {
 public:
  OutFolderGuard(const TrainConfig& c, bool overwrite) {
    if (replaces_a_run(c, overwrite)) aside_.emplace(c.out_dir);
  }
  // Whether --out holds a run that --overwrite replaces; refuses an --out the
  // run may not write in (UsageError). Touches nothing.
  static bool replaces_a_run(const TrainConfig& c, bool overwrite) {
    const std::string& out = c.out_dir;
    if (c.resume.empty()) return replaces_a_run_in(out, overwrite, resumable(out));
    if (overwrite) throw UsageError("--overwrite starts a new run; --resume continues one: give one");
    if (run_files_in(out).empty() || same_folder(out, resumed_folder(c.resume))) return false;
    throw UsageError("--out " + out + " holds another run than the one --resume " + c.resume +
                     " continues; give an empty --out, or none (the run's own folder)");
  }
  // The new run has started: the old one goes (otherwise it comes back).
  void commit() {
    if (aside_) aside_->commit();
  }

 private:
  std::optional<RunAside> aside_;
};

// What `aaren train` was asked: the run's config and the command's own flags.
struct TrainCommand {
  TrainConfig c;
  std::set<std::string> given;  // the config's flags set on the command line
  bool overwrite = false;
  std::vector<uint64_t> seeds;  // --seeds (or a seed group's --config): one run per seed
  int jobs = 1;
  bool jobs_given = false;
  bool print_config = false;
};

// The resolved command line: --config FILE first, the flags over it. Returns
// false when --help was asked.
bool parse_train_command(int argc, char** argv, TrainCommand& t) {
  namespace po = boost::program_options;
  TrainConfig& c = t.c;
  const auto config_file = config_file_argument(argc, argv);
  std::vector<uint64_t> file_seeds;
  if (config_file) c = load_config_file(*config_file, file_seeds);
  po::options_description options("Options (defaults: Decision Transformer's, Chen et al. 2021)");
  // clang-format off
  options.add_options()
      ("config", po::value<std::string>()->value_name("FILE"),
       "start from this JSON (a run's config.json, or a seed group's seeds.json); flags given beside it override it")
      ("overwrite", po::bool_switch(&t.overwrite), "replace the run in --out (refused without it)")
      ("seeds", po::value(&t.seeds)->multitoken()->value_name("N..."),
       "one run per seed in OUT/seed_N/, then OUT/summary.csv and OUT/eval.svg over the seeds (mean, sample std, "
       "95% interval); --resume OUT finishes the seeds still missing")
      ("jobs", po::value(&t.jobs)->default_value(1), "with --seeds: seeds trained at once (each uses --threads)")
      ("print-config", po::bool_switch(&t.print_config),
       "print the run as it would run (config.json's JSON: the env, targets and evaluation interval from the data, "
       "a --resume's stored settings) and exit; writes nothing");
  // clang-format on
  add_config_options(options, TrainConfig::fields(), c);
  po::variables_map vm;
  if (!parse(argc, argv,
             "--dataset FILE --backbone " + backbone_names("|") +
                 " --out DIR [options]\n"
                 "       aaren train --seeds 1 2 3 --dataset FILE --out DIR [--jobs N] [options]   (a seed group)\n"
                 "       aaren train --resume OUT [--updates N]   (continue a stopped run, or a seed group, from its "
                 "newest checkpoints)\n"
                 "       aaren train --config OUT/config.json --out NEW [flags]   (a run again, or a variation)\n\n"
                 "Writes OUT/config.json (with provenance), train_log.csv, eval.csv and eval.svg (evaluations during\n"
                 "training at both of DT's targets), checkpoint_<update>.pt every --checkpoint-every updates and\n"
                 "checkpoint.pt at the end. SIGINT/SIGTERM (Ctrl-C) finish the update in progress (and an\n"
                 "evaluation due at it), write a checkpoint and exit with 128 + the signal; a second Ctrl-C stops\n"
                 "at once (a repeated SIGTERM, as timeout(1) sends, does not). A stop at the last update, or\n"
                 "during the final evaluation, lets the run finish (exit 0).",
             options, vm))
    return false;
  t.given = apply_config_options(vm, TrainConfig::fields(), c);
  t.jobs_given = !vm["jobs"].defaulted();
  if (!t.seeds.empty() && t.given.count("seed")) throw UsageError("--seed and --seeds: give one");
  if (t.seeds.empty() && !t.given.count("seed")) t.seeds = file_seeds;  // a group's file runs the group
  if (config_file && !t.given.count("out") && !t.given.count("resume"))
    throw UsageError("--config " + *config_file + ": give --out for the new run (the file's is " + c.out_dir +
                     ", another run's folder)");
  // --resume OUT (or OUT/checkpoint_N.pt) continues in OUT unless --out says otherwise.
  if (!c.resume.empty() && !t.given.count("out")) {
    const std::filesystem::path resume(c.resume);
    c.out_dir = std::filesystem::is_directory(resume) ? resume.string() : resume.parent_path().string();
    if (c.out_dir.empty()) c.out_dir = ".";
  }
  try {
    c.validate();
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  return true;
}

// --print-config: the run resolved as `aaren train` would run it, with no
// side effect; what the run would refuse on its input is refused alike (one
// rank of several prints: rank 0).
int print_resolved_config(const TrainCommand& t) {
  if (!t.seeds.empty() || (!t.c.resume.empty() && is_seed_group(resumed_folder(t.c.resume))))
    throw UsageError("--print-config: shows one run; drop --seeds (or resume one seed's folder)");
  OutFolderGuard::replaces_a_run(t.c, t.overwrite);
  const auto say = [](const std::string& line) { std::cerr << line << "\n"; };
  try {
    const auto launch = dist::launch_from_environment();
    const int world_size = dist::started_as_rank() ? launch.world_size : t.c.nproc;
    const auto resolved = resolve_training_run(t.c, t.given, world_size, say);
    if (launch.rank == 0) std::cout << resolved.config.to_json().dump(2) << "\n";
  } catch (const std::invalid_argument& e) {
    throw InputError(e.what());
  } catch (const envs::EnvError& e) {
    throw InputError(e.what());
  }
  return kExitOk;
}

// Trains (this process, one rank of several or alone) and reports.
int train_and_report(const TrainConfig& c, const std::set<std::string>& given, const nlohmann::json& provenance,
                     const std::function<void()>& started) {
  DecisionTrainer trainer(c, given, provenance);
  started();
  const auto& resolved = trainer.config();
  const bool reports = trainer.rank() == 0;  // the other ranks train silently
  if (reports) std::cout << "config: " << resolved.to_json().dump() << std::endl;
  int64_t plotted = -1;
  const auto result = trainer.run([&](const TrainProgress& p) {
    print_progress(to_string(resolved.backbone), p);
    if (!p.last_evals.empty() && p.last_evals.front().update != plotted)
      plot_evaluations(resolved), plotted = p.last_evals.front().update;  // the curve grows as the run goes
  });
  if (result.stop_signal != 0) {
    if (reports) {
      std::cerr << "\n";
      plot_evaluations(resolved);
      std::cout << "stopped by " << (result.stop_signal == SIGINT ? "SIGINT" : "SIGTERM") << " after update "
                << result.updates_done << "; checkpoint " << result.checkpoint << "\ncontinue with: aaren train "
                << "--resume " << resolved.out_dir
                << (resolved.nproc > 1 ? " --nproc " + std::to_string(resolved.nproc) : std::string()) << "\n";
    }
    return 128 + result.stop_signal;
  }
  if (!reports) return kExitOk;
  std::cerr << "\n";
  report(resolved, result);
  return kExitOk;
}
}  // namespace

// The flags given beside --resume OUT (without it and --jobs), for each seed of a resumed group.
std::vector<std::string> flags_beside_resume(int argc, char** argv) {
  std::vector<std::string> extra;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--resume" || a == "--jobs" || a == "--updates") {  // (each seed is told the group's --updates)
      ++i;
      continue;
    }
    if (a.rfind("--resume=", 0) == 0 || a.rfind("--jobs=", 0) == 0 || a.rfind("--updates=", 0) == 0) continue;
    extra.push_back(a);
  }
  return extra;
}

// --seeds (a new group) or --resume of a group's folder: one run per seed (apps/seed_group.h).
// A seed group's seeds.json, read whole on --resume where no flag overrides it (nlohmann's own
// conversions would take jobs 2^32 + 1 as 1 and updates 2.5 as 2, without a word).
int recorded_jobs(const SeedGroupRecord& group, const std::string& file) {
  if (group.jobs < 1 || group.jobs > kMaxSeedJobs)
    throw std::runtime_error(file + ": 'jobs' is " + std::to_string(group.jobs) + ", expected 1 to " +
                             std::to_string(kMaxSeedJobs) + " (or give --jobs)");
  return static_cast<int>(group.jobs);
}
int64_t recorded_updates(const SeedGroupRecord& group, const std::string& file) {
  const auto updates = group.config.value("updates", nlohmann::json());
  if (!updates.is_number_integer() || updates.get<int64_t>() < 1)
    throw std::runtime_error(file + ": 'config.updates' is " + updates.dump() +
                             ", expected an integer >= 1 (or give --updates)");
  return updates.get<int64_t>();
}

int train_seed_group(int argc, char** argv, const TrainCommand& t) {
  const TrainConfig& c = t.c;
  SeedGroupRun g;
  g.out = c.out_dir, g.jobs = t.jobs, g.updates = c.updates;
  if (!c.resume.empty()) {
    if (!t.seeds.empty()) throw UsageError("--seeds with --resume: a group continues with the seeds of its seeds.json");
    if (t.given.count("out")) throw UsageError("--out with --resume of a seed group: it continues in its own folder");
    g.out = resumed_folder(c.resume), g.resume = true, g.extra = flags_beside_resume(argc, argv);
    try {
      const auto group = read_seed_group(g.out);
      g.seeds = group.seeds;
      if (!t.jobs_given) g.jobs = recorded_jobs(group, seed_group_file(g.out));
      if (!t.given.count("updates")) g.updates = recorded_updates(group, seed_group_file(g.out));
      g.title = group.config.value("backbone", "") + " on " +
                std::filesystem::path(group.config.value("dataset", "")).filename().string();
    } catch (const std::exception& e) {
      throw InputError("--resume " + g.out + ": " + e.what());
    }
  } else {
    std::set<uint64_t> distinct(t.seeds.begin(), t.seeds.end());
    if (distinct.size() != t.seeds.size()) throw UsageError("--seeds: a seed is listed twice");
    g.seeds = t.seeds;
    g.title = std::string(to_string(c.backbone)) + " on " + std::filesystem::path(c.dataset).filename().string();
  }
  if (g.jobs < 1 || g.jobs > kMaxSeedJobs)  // before anything is written
    throw UsageError("--jobs " + std::to_string(g.jobs) + ": expected 1 to " + std::to_string(kMaxSeedJobs));
  std::optional<OutFolderGuard> guard;
  const bool out_existed = std::filesystem::exists(g.out);
  if (!g.resume) {
    guard.emplace(c, t.overwrite);
    require_writable("out", g.out, /*folder=*/true);
    SeedGroupRecord group{g.seeds, g.jobs, c.to_json()};
    group.config.erase("seed");  // each seed's run sets its own
    write_seed_group(g.out, group, provenance(argc, argv));
  }
  const int code = run_seed_group(g);
  // A new group none of whose seeds got past its input (refused) leaves nothing behind.
  bool any_started = any_seed_checkpoint(g);
  for (const uint64_t seed : g.seeds) any_started = any_started || run_started(seed_folder(g.out, seed));
  if (guard && any_started) guard->commit();
  if (!g.resume && !any_started && !out_existed) {
    std::error_code ec;
    std::filesystem::remove_all(g.out, ec);
  }
  return code;
}

int run_train(int argc, char** argv) {
  TrainCommand t;
  if (!parse_train_command(argc, argv, t)) return kExitOk;
  if (t.print_config) return print_resolved_config(t);
  base::keep_freed_memory_for_reuse();  // each update's tensors reuse the last one's memory (base/allocator.h)
  if (!t.seeds.empty() || (!t.c.resume.empty() && is_seed_group(resumed_folder(t.c.resume))))
    return train_seed_group(argc, argv, t);
  const TrainConfig& c = t.c;
  const auto& given = t.given;
  const bool overwrite = t.overwrite;
  // Under several ranks, errors name the rank that saw them, and only rank 0 (or the launcher) touches OUT.
  const bool is_rank = dist::started_as_rank();
  const std::string rank = dist::rank_label();
  const auto tagged = [&](const std::string& what) { return rank.empty() ? what : "rank " + rank + ": " + what; };
  const bool main_rank = rank.empty() || rank == "0";
  // Our own launcher has checked OUT before it started the ranks.
  std::optional<OutFolderGuard> guard;
  if (main_rank && !(is_rank && std::getenv("AAREN_OUT_CHECKED"))) guard.emplace(c, overwrite);
  // A run that fails on its input (a bad dataset, a wrong --env) leaves no
  // folder behind that it created; one that has written a checkpoint keeps it.
  const bool out_existed = std::filesystem::exists(c.out_dir);
  auto remove_if_created = [&] {
    if (out_existed || run_started(c.out_dir)) return;
    std::error_code ec;
    std::filesystem::remove_all(c.out_dir, ec);
  };
  // --nproc N: this process starts N ranks of the same command and waits
  // (a rank is a process with WORLD_SIZE set, by us, torchrun or by hand).
  if (c.nproc > 1 && !is_rank) {
    if (!dist::available())
      throw UsageError("--nproc: this build has no distributed training (install libgloo-dev and rebuild)");
    require_writable("out", c.out_dir, /*folder=*/true);
    std::vector<std::string> args{"train"};
    args.insert(args.end(), argv + 1, argv + argc);
    setenv("AAREN_OUT_CHECKED", "1", 1);
    // A failed rank's peers stop at their next all-reduce; past this, they are killed.
    const auto grace = std::chrono::milliseconds(static_cast<int64_t>(std::min(c.dist_timeout, 60.0) * 1000));
    const int code = dist::launch_local_ranks(c.nproc, args, grace);
    // The run --overwrite replaces goes only once the new one has finished or written a checkpoint;
    // ranks that refused their input leave it where it was.
    if (code == 0 || run_started(c.out_dir)) guard->commit();
    if (code != 0) remove_if_created();
    return code;
  }
  if (main_rank) require_writable("out", c.out_dir, /*folder=*/true);
  install_stop_handlers();
  try {
    return train_and_report(c, given, provenance(argc, argv), [&] {
      if (guard) guard->commit();
    });
  } catch (const TrainingDiverged& e) {  // the folder kept: its log shows the way the run went
    throw InputError(tagged(e.what()));
  } catch (const std::invalid_argument& e) {
    if (main_rank) remove_if_created();
    throw InputError(tagged(e.what()));
  } catch (const envs::EnvError& e) {
    if (main_rank) remove_if_created();
    throw InputError(tagged(e.what()));
  }
}

}  // namespace aaren::cli
