// aaren train: offline training of a decision agent (Aaren or Transformer backbone).
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <iostream>

#include "agents/training/decision_trainer.h"
#include "agents/training/distributed.h"
#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/config_options.h"
#include "base/svg_plot.h"
#include "envs/env.h"

namespace aaren::cli {

namespace {
void print_progress(const std::string& backbone, const TrainProgress& p) {
  std::cerr << "\r[train " << backbone << "] update " << p.update << "/" << p.updates << " (" << std::fixed
            << std::setprecision(1) << 100.0 * p.update / p.updates << "%) " << std::setprecision(1)
            << p.updates_per_second << " upd/s, ETA " << format_duration(p.eta_seconds) << " | loss "
            << std::setprecision(4) << p.loss << " lr " << std::scientific << std::setprecision(2) << p.lr << std::fixed
            << std::setprecision(1) << " | eval return " << p.eval_return << " (score " << p.eval_score << ")   "
            << std::flush;
}

void report(const TrainConfig& c, const TrainResult& r) {
  if (!r.evals.empty()) {
    base::Series s{"eval return", {}, {}};
    for (const auto& e : r.evals) s.x.push_back(static_cast<double>(e.update)), s.y.push_back(e.return_mean);
    base::write_svg(c.out_dir + "/eval.svg", {s},
                    {"decision agent (" + std::string(to_string(c.backbone)) + ")", "updates", "mean return"});
    const auto& last = r.evals.back();
    std::cout << "final evaluation: return " << last.return_mean << " +- " << last.return_std << ", normalised "
              << last.score_mean << " +- " << last.score_std << " (dataset mean episode return "
              << r.dataset_return_mean << ")\n";
  }
  std::cout << "trained in " << format_duration(r.seconds) << "; checkpoint " << r.checkpoint << "\n";
}
}  // namespace

int run_train(int argc, char** argv) {
  namespace po = boost::program_options;
  TrainConfig c;
  po::options_description options("Options (defaults: Decision Transformer's, Chen et al. 2021)");
  add_config_options(options, TrainConfig::fields(), c, {"out"});
  po::variables_map vm;
  if (!parse(argc, argv, "--dataset FILE --backbone aaren|transformer --out DIR [options]", options, vm))
    return kExitOk;
  const auto given = apply_config_options(vm, TrainConfig::fields(), c);
  try {
    c.validate();
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  // A run that fails on its input (a bad dataset, a wrong --env) leaves no
  // folder behind that it created; one that has written a checkpoint keeps it.
  // Only the process that creates OUT (the launcher, or rank 0) removes it.
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
  const char* world = std::getenv("WORLD_SIZE");
  if (c.nproc > 1 && !(world && *world)) {
    if (!dist::available())
      throw UsageError("--nproc: this build has no distributed training (install libgloo-dev and rebuild)");
    require_writable("out", c.out_dir, /*folder=*/true);
    std::vector<std::string> args{"train"};
    args.insert(args.end(), argv + 1, argv + argc);
    // A failed rank's peers stop at their next all-reduce; past this, they are killed.
    const auto grace = std::chrono::milliseconds(static_cast<int64_t>(std::min(c.dist_timeout, 60.0) * 1000));
    const int code = dist::launch_local_ranks(c.nproc, args, grace);
    if (code != 0) remove_if_created();
    return code;
  }
  // Under several ranks, errors name the rank that saw them, and only rank 0 touches OUT.
  const char* rank_text = std::getenv("RANK");
  const std::string rank = rank_text && *rank_text && world && *world && std::string(world) != "1" ? rank_text : "";
  const auto tagged = [&](const std::string& what) { return rank.empty() ? what : "rank " + rank + ": " + what; };
  const bool main_rank = rank.empty() || rank == "0";
  if (main_rank) require_writable("out", c.out_dir, /*folder=*/true);
  try {
    DecisionTrainer trainer(c, given);
    const auto& resolved = trainer.config();
    const bool reports = trainer.rank() == 0;  // the other ranks train silently
    if (reports) std::cout << "config: " << resolved.to_json().dump() << std::endl;
    const auto result = trainer.run([&](const TrainProgress& p) { print_progress(to_string(resolved.backbone), p); });
    if (!reports) return kExitOk;
    std::cerr << "\n";
    report(resolved, result);
  } catch (const std::invalid_argument& e) {
    if (main_rank) remove_if_created();
    throw InputError(tagged(e.what()));
  } catch (const envs::EnvError& e) {
    if (main_rank) remove_if_created();
    throw InputError(tagged(e.what()));
  }
  return kExitOk;
}

}  // namespace aaren::cli
