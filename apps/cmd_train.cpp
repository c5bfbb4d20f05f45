// aaren train: offline training of a decision agent (a registered backbone: Aaren, Transformer, LSTM).
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <unistd.h>

#include "agents/training/decision_trainer.h"
#include "agents/training/distributed.h"
#include "apps/cli.h"
#include "base/did_you_mean.h"
#include "apps/commands.h"
#include "apps/config_options.h"
#include "apps/provenance.h"
#include "base/numbers.h"
#include "base/svg_plot.h"
#include "envs/env.h"

namespace aaren::cli {

namespace {
void print_progress(const std::string& backbone, const TrainProgress& p) {
  std::cerr << "\r[train " << backbone << "] update " << p.update << "/" << p.updates << " (" << std::fixed
            << std::setprecision(1) << 100.0 * p.update / p.updates << "%) " << std::setprecision(1)
            << p.updates_per_second << " upd/s, ETA " << format_duration(p.eta_seconds) << " | loss "
            << std::setprecision(4) << p.loss << " lr " << std::scientific << std::setprecision(2) << p.lr << std::fixed;
  if (!p.last_evals.empty()) {  // nothing before the first evaluation
    std::cerr << " | score at update " << p.last_evals.front().update << ":";
    for (const auto& e : p.last_evals)
      std::cerr << " " << std::setprecision(1) << e.score_mean << " (target " << std::setprecision(0) << e.target
                << ")";
  }
  std::cerr << "   " << std::flush;
}

// OUT/eval.svg from OUT/eval.csv (so a resumed run's curve has its whole
// history): the normalised score against updates, one line per target.
void plot_evaluations(const TrainConfig& c) {
  std::map<double, base::Series> by_target;
  std::vector<EvalResult> evals;
  try {
    evals = read_eval_csv(c.out_dir + "/eval.csv");
  } catch (const std::runtime_error& e) {
    std::cerr << "warning: no eval.svg: " << e.what() << "\n";
  }
  for (const auto& e : evals) {
    auto& s = by_target[e.target];
    s.x.push_back(static_cast<double>(e.update)), s.y.push_back(e.score_mean);
  }
  std::vector<base::Series> series;
  for (auto it = by_target.rbegin(); it != by_target.rend(); ++it) {
    std::ostringstream name;
    name << "target " << std::fixed << std::setprecision(0) << it->first;
    it->second.name = name.str();
    series.push_back(it->second);
  }
  if (series.empty()) return;
  base::write_svg(c.out_dir + "/eval.svg", series,
                  {std::string(to_string(c.backbone)) + " on " + std::filesystem::path(c.dataset).filename().string(),
                   "updates", "D4RL normalised score"});
}

void report(const TrainConfig& c, const TrainResult& r) {
  plot_evaluations(c);
  if (!r.evals.empty()) {
    const int64_t last = r.evals.back().update;
    std::cout << "evaluation at update " << last << " (" << c.eval_episodes << " episodes per target; dataset mean "
              << "episode return " << r.dataset_return_mean << "):\n";
    for (const auto& e : r.evals)
      if (e.update == last)
        std::cout << "  target " << e.target << ": return " << e.return_mean << " +- " << e.return_std
                  << ", normalised " << e.score_mean << " +- " << e.score_std << "\n";
  }
  std::cout << "trained in " << format_duration(r.seconds) << "; checkpoint " << r.checkpoint << "\n";
}

// SIGINT/SIGTERM: finish the update in progress, write a checkpoint and the
// logs, exit with 128 + the signal. A second one ends the process at once
// (SA_RESETHAND restores the default action).
void stop_on_signal(int signal) { request_training_stop(signal); }

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = stop_on_signal;
  action.sa_flags = SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
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

TrainConfig load_config_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError("--config " + path + ": cannot read it");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw InputError("--config " + path + ": not JSON (" + std::string(e.what()) + ")");
  }
  if (!j.is_object()) throw InputError("--config " + path + ": expected a JSON object of settings");
  TrainConfig c;
  for (const auto& [key, value] : j.items()) {
    // What ran it, and (in files written before it moved under provenance) the
    // checkpoint it continued: history, not settings. A new run starts afresh.
    if (key == "provenance" || key == "resume") continue;
    const auto& fields = TrainConfig::fields();
    const auto f = std::find_if(fields.begin(), fields.end(), [&](const auto& f) { return f.key == key; });
    if (f == fields.end()) {
      std::vector<std::string> keys;
      for (const auto& field : fields) keys.push_back(field.key);
      throw InputError("--config " + path + ": unknown key '" + key + "'" + base::did_you_mean(key, keys));
    }
    try {
      f->set_json(c, value);
    } catch (const std::exception&) {
      throw InputError("--config " + path + ": '" + key + "' has the wrong type (" + value.dump() + ")");
    }
  }
  return c;
}

// What a folder holds that makes it a run's: its config, logs or checkpoints.
std::vector<std::string> run_files_in(const std::string& dir) {
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const auto name = entry.path().filename().string();
    if (name == "config.json" || name == "train_log.csv" || name == "eval.csv" ||
        (name.rfind("checkpoint", 0) == 0 && entry.path().extension() == ".pt"))
      found.push_back(name);
  }
  std::sort(found.begin(), found.end());
  return found;
}

std::string resumed_folder(const std::string& resume) {
  const std::filesystem::path p(resume);
  return std::filesystem::is_directory(p) ? p.string() : p.parent_path().string();
}

bool same_folder(const std::string& a, const std::string& b) {
  std::error_code ec;
  return std::filesystem::weakly_canonical(a.empty() ? "." : a, ec) ==
         std::filesystem::weakly_canonical(b.empty() ? "." : b, ec);
}

// A new run never writes into another run's folder: --out that holds a run is
// refused, or with --overwrite moved aside whole (one rename) and deleted once
// the new run has started; a new run that fails on its input puts it back.
class OutFolderGuard {
 public:
  OutFolderGuard(const TrainConfig& c, bool overwrite) : out_(c.out_dir) {
    if (!c.resume.empty() && overwrite) throw UsageError("--overwrite starts a new run; --resume continues one: give one");
    const auto files = run_files_in(out_);
    if (files.empty() || (!c.resume.empty() && same_folder(out_, resumed_folder(c.resume)))) return;
    if (!c.resume.empty())
      throw UsageError("--out " + out_ + " holds another run than the one --resume " + c.resume +
                       " continues; give an empty --out, or none (the run's own folder)");
    if (!overwrite) {
      std::string list;
      for (size_t i = 0; i < files.size() && i < 3; ++i) list += (i ? ", " : "") + files[i];
      throw UsageError("--out " + out_ + " holds a run (" + list + (files.size() > 3 ? ", ..." : "") +
                       "); continue it with --resume " + out_ + ", replace it with --overwrite, or choose another --out");
    }
    aside_ = out_ + ".replaced." + std::to_string(::getpid());
    std::error_code ec;
    std::filesystem::rename(out_, aside_, ec);
    if (ec) throw InputError("--overwrite: cannot move " + out_ + " aside (" + ec.message() + ")");
  }
  // The new run has started: the old one goes.
  void commit() {
    if (aside_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(aside_, ec);
    aside_.clear();
  }
  // The new run failed before it started: the old one comes back.
  ~OutFolderGuard() {
    if (aside_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(out_, ec);
    std::filesystem::rename(aside_, out_, ec);
  }

 private:
  std::string out_, aside_;
};

// The resolved command line: --config FILE first, the flags over it. Returns
// false when --help was asked.
bool parse_train_command(int argc, char** argv, TrainConfig& c, std::set<std::string>& given, bool& overwrite) {
  namespace po = boost::program_options;
  const auto config_file = config_file_argument(argc, argv);
  if (config_file) c = load_config_file(*config_file);
  po::options_description options("Options (defaults: Decision Transformer's, Chen et al. 2021)");
  options.add_options()("config", po::value<std::string>()->value_name("FILE"),
                        "start from this JSON (a run's config.json); flags given beside it override it")(
      "overwrite", po::bool_switch(&overwrite), "replace the run in --out (refused without it)");
  add_config_options(options, TrainConfig::fields(), c);
  po::variables_map vm;
  if (!parse(argc, argv,
             "--dataset FILE --backbone aaren|transformer --out DIR [options]\n"
             "       aaren train --resume OUT [--updates N]   (continue a stopped run from its newest checkpoint)\n"
             "       aaren train --config OUT/config.json --out NEW [flags]   (a run again, or a variation)\n\n"
             "Writes OUT/config.json (with provenance), train_log.csv, eval.csv and eval.svg (evaluations during\n"
             "training at both of DT's targets), checkpoint_<update>.pt every --checkpoint-every updates and\n"
             "checkpoint.pt at the end. SIGINT/SIGTERM (Ctrl-C) finish the update in progress, write a\n"
             "checkpoint and exit with 128 + the signal; a second one stops at once.",
             options, vm))
    return false;
  given = apply_config_options(vm, TrainConfig::fields(), c);
  if (config_file && !given.count("out") && !given.count("resume"))
    throw UsageError("--config " + *config_file + ": give --out for the new run (the file's is " + c.out_dir +
                     ", another run's folder)");
  // --resume OUT (or OUT/checkpoint_N.pt) continues in OUT unless --out says otherwise.
  if (!c.resume.empty() && !given.count("out")) {
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

int run_train(int argc, char** argv) {
  TrainConfig c;
  std::set<std::string> given;
  bool overwrite = false;
  if (!parse_train_command(argc, argv, c, given, overwrite)) return kExitOk;
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
    if (out_existed) return;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(c.out_dir, ec))
      if (entry.path().extension() == ".pt") return;
    std::filesystem::remove_all(c.out_dir, ec);
  };
  // --nproc N: this process starts N ranks of the same command and waits
  // (a rank is a process with WORLD_SIZE set, by us, torchrun or by hand).
  if (c.nproc > 1 && !is_rank) {
    if (!dist::available())
      throw UsageError("--nproc: this build has no distributed training (install libgloo-dev and rebuild)");
    require_writable("out", c.out_dir, /*folder=*/true);
    guard->commit();
    std::vector<std::string> args{"train"};
    args.insert(args.end(), argv + 1, argv + argc);
    setenv("AAREN_OUT_CHECKED", "1", 1);
    // A failed rank's peers stop at their next all-reduce; past this, they are killed.
    const auto grace = std::chrono::milliseconds(static_cast<int64_t>(std::min(c.dist_timeout, 60.0) * 1000));
    const int code = dist::launch_local_ranks(c.nproc, args, grace);
    if (code != 0) remove_if_created();
    return code;
  }
  if (main_rank) require_writable("out", c.out_dir, /*folder=*/true);
  install_stop_handlers();
  try {
    return train_and_report(c, given, provenance(argc, argv), [&] {
      if (guard) guard->commit();
    });
  } catch (const std::invalid_argument& e) {
    if (main_rank) remove_if_created();
    throw InputError(tagged(e.what()));
  } catch (const envs::EnvError& e) {
    if (main_rank) remove_if_created();
    throw InputError(tagged(e.what()));
  }
}

}  // namespace aaren::cli
