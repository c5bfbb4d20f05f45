#include "apps/seed_group.h"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

#include "agents/training/seed_summary.h"
#include "agents/training/training_run.h"
#include "apps/cli.h"
#include "base/atomic_file.h"
#include "base/child_process.h"
#include "base/clock.h"
#include "base/format.h"

namespace aaren::cli {

namespace {
// The seeds training now, for the signal handler (a fixed array: a handler
// may only read plain memory and call kill).
pid_t g_running[kMaxSeedJobs];
volatile sig_atomic_t g_running_count = 0;
volatile sig_atomic_t g_stop_signal = 0;

// Each seed runs in its own process group, so a terminal's Ctrl-C reaches the
// seeds once: from here (a seed stops at its second signal at once).
void forward_to_seeds(int signal) {
  g_stop_signal = signal;
  for (int i = 0; i < g_running_count; ++i) ::kill(g_running[i], signal);
}

enum class SeedState { kFinished, kStarted, kNew };

// Finished: its final checkpoint and an evaluation at `updates` (or later).
// Started: a checkpoint to resume from. New: nothing to continue.
// What counts as a checkpoint is what `train --resume` continues from
// (holds_a_checkpoint_to_resume), so a seed called started can be continued.
SeedState seed_state(const std::string& dir, int64_t updates) {
  std::error_code ec;
  if (!holds_a_checkpoint_to_resume(dir)) return SeedState::kNew;
  if (std::filesystem::is_regular_file(dir + "/checkpoint.pt", ec)) {
    try {
      for (const auto& e : read_eval_csv(dir + "/eval.csv"))
        if (e.update >= updates) return SeedState::kFinished;
    } catch (const std::runtime_error&) {  // no eval.csv yet: resume it
    }
  }
  return SeedState::kStarted;
}

std::vector<std::string> seed_command(const SeedGroupRun& g, uint64_t seed, SeedState state) {
  const auto dir = seed_folder(g.out, seed);
  std::vector<std::string> args{"aaren", "train"};
  if (state == SeedState::kStarted) {
    args.insert(args.end(), {"--resume", dir});
  } else {
    args.insert(args.end(), {"--config", seed_group_file(g.out), "--seed", std::to_string(seed), "--out", dir});
    std::error_code ec;
    if (!std::filesystem::is_empty(dir, ec) && !ec)
      args.push_back("--overwrite");  // a start killed before its first checkpoint
  }
  // To the group's length, whatever a seed's own run was last asked for.
  args.insert(args.end(), {"--updates", std::to_string(g.updates)});
  args.insert(args.end(), g.extra.begin(), g.extra.end());
  return args;
}

// Starts a seed's run; with `log` its output goes there (appended).
pid_t start_seed(const std::vector<std::string>& args, const std::string& log) {
  pid_t pid = 0;
  const int err = base::spawn_self(pid, args, {}, log);
  if (err != 0) throw std::runtime_error(std::string("--seeds: cannot start a seed's run: ") + std::strerror(err));
  return pid;
}

// The summary's last point per target, as the run ends.
void print_summary(const std::string& out, const std::vector<SeedSummaryRow>& rows) {
  if (rows.empty()) return;
  int64_t last = 0;
  for (const auto& r : rows) last = std::max(last, r.update);
  std::cout << "over seeds at update " << last << " (" << out << "/summary.csv, eval.svg):\n";
  for (auto it = rows.rbegin(); it != rows.rend(); ++it) {
    if (it->update != last) continue;
    std::cout << "  target " << std::fixed << std::setprecision(0) << it->target << std::defaultfloat << ": score "
              << base::three_significant(it->score_mean);
    if (it->seeds > 1)
      std::cout << " +- " << base::three_significant(it->score_std) << " (95% interval "
                << base::three_significant(it->score_ci95_low) << " to " << base::three_significant(it->score_ci95_high)
                << ")";
    std::cout << " over " << it->seeds << (it->seeds == 1 ? " seed" : " seeds") << "\n";
  }
}
}  // namespace

namespace {
struct Launched {
  pid_t pid;
  uint64_t seed;
  double started;
};

void track(const std::vector<Launched>& running) {
  g_running_count = 0;
  for (const auto& r : running) g_running[g_running_count++] = r.pid;
}

// With --jobs > 1 a seed's output goes to OUT/seed_<N>.log (else to the terminal: "").
std::string seed_log(const SeedGroupRun& g, uint64_t seed) {
  return g.jobs > 1 ? (std::filesystem::path(g.out) / ("seed_" + std::to_string(seed) + ".log")).string() : "";
}

// ": <the log's last line> (<log>)", so that a failed seed's reason shows even when its folder is then removed.
std::string last_line_of(const std::string& log) {
  if (log.empty()) return "";
  std::ifstream in(log);
  std::string line, last;
  while (std::getline(in, line)) {
    const auto cr = line.find_last_of('\r');  // a progress line's last state
    if (cr != std::string::npos) line = line.substr(cr + 1);
    if (!line.empty()) last = line;
  }
  return last.empty() ? "; see " + log : ": " + last + " (" + log + ")";
}

// Waits for one of `running` to end; returns its entry and exit code.
std::pair<Launched, int> wait_for_one(std::vector<Launched>& running) {
  while (true) {
    int status = 0;
    const pid_t done = ::waitpid(-1, &status, 0);
    if (done < 0 && errno == EINTR) continue;
    if (done < 0) throw std::runtime_error(std::string("--seeds: waiting for a seed: ") + std::strerror(errno));
    const auto it = std::find_if(running.begin(), running.end(), [&](const Launched& l) { return l.pid == done; });
    if (it == running.end()) continue;
    const Launched ended = *it;
    running.erase(it);
    track(running);
    return {ended, base::exit_code(status)};
  }
}
}  // namespace

bool any_seed_checkpoint(const SeedGroupRun& g) {
  for (uint64_t seed : g.seeds)
    if (seed_state(seed_folder(g.out, seed), g.updates) != SeedState::kNew) return true;
  return false;
}

int run_seed_group(const SeedGroupRun& g) {
  if (g.jobs < 1 || g.jobs > kMaxSeedJobs)
    throw UsageError("--jobs " + std::to_string(g.jobs) + ": expected 1 to " + std::to_string(kMaxSeedJobs));
  std::vector<std::pair<uint64_t, SeedState>> pending;
  for (uint64_t seed : g.seeds) {
    const auto state = seed_state(seed_folder(g.out, seed), g.updates);
    if (state == SeedState::kFinished)
      std::cout << "[seeds] seed " << seed << ": finished already (" << seed_folder(g.out, seed) << ")\n";
    else
      pending.emplace_back(seed, state);
  }
  struct sigaction action {};
  action.sa_handler = forward_to_seeds;
  sigemptyset(&action.sa_mask);
  struct sigaction old_int {
  }, old_term{};
  sigaction(SIGINT, &action, &old_int);
  sigaction(SIGTERM, &action, &old_term);
  std::vector<Launched> running;
  int failure = 0, finished = 0;
  const size_t total = pending.size();
  double seconds_per_seed = 0;
  for (size_t next = 0; next < pending.size() || !running.empty();) {
    while (running.size() < static_cast<size_t>(g.jobs) && next < pending.size() && !g_stop_signal && !failure) {
      const auto [seed, state] = pending[next++];
      const auto log = seed_log(g, seed);
      std::cout << "[seeds] seed " << seed << ": " << (state == SeedState::kStarted ? "continuing" : "starting") << " ("
                << next << " of " << total << ")" << (log.empty() ? "" : "; output in " + log) << std::endl;
      running.push_back({start_seed(seed_command(g, seed, state), log), seed, base::now_seconds()});
      track(running);
    }
    if (running.empty()) break;
    const auto [ended, code] = wait_for_one(running);
    const double took = base::now_seconds() - ended.started;
    if (code == 0) {
      ++finished;
      seconds_per_seed += (took - seconds_per_seed) / finished;
      const double eta = seconds_per_seed * static_cast<double>(total - finished) / g.jobs;
      std::cout << "[seeds] seed " << ended.seed << ": finished in " << format_duration(took) << " (" << finished
                << " of " << total << (finished < static_cast<int>(total) ? "; ETA " + format_duration(eta) : "") << ")"
                << std::endl;
      write_seed_summary(g.out, read_seed_runs(g.out, g.seeds), g.title);
    } else if (!g_stop_signal && !failure) {
      failure = code;
      std::cerr << "[seeds] seed " << ended.seed << " failed (exit " << code << ")"
                << last_line_of(seed_log(g, ended.seed)) << "; no further seed starts\n";
    }
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  print_summary(g.out, write_seed_summary(g.out, read_seed_runs(g.out, g.seeds), g.title));
  if (g_stop_signal || failure) {
    std::cout << (g_stop_signal ? "stopped" : "ended by a failure") << " with " << total - finished << " of "
              << g.seeds.size() << " seeds unfinished"
              << (any_seed_checkpoint(g) ? "; continue with: aaren train --resume " + g.out : std::string()) << "\n";
    return g_stop_signal ? 128 + g_stop_signal : failure;
  }
  return kExitOk;
}

}  // namespace aaren::cli
