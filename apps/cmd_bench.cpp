// aaren bench <benchmark>: benchmarks that print a table and write CSV/JSON.
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <tuple>

#include "agents/models/device.h"
#include "agents/training/distributed.h"
#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/config_options.h"
#include "apps/provenance.h"
#include "base/atomic_file.h"
#include "bench/conditioning_bench.h"
#include "bench/data_bench.h"
#include "bench/env_bench.h"
#include "bench/policy_bench.h"
#include "bench/scan_bench.h"
#include "bench/train_bench.h"
#include "data/hdf5_io.h"
#include "envs/env.h"
#include "envs/registry.h"

namespace aaren::cli {

namespace po = boost::program_options;

namespace {

// A benchmark's settings (its config's field table) and where its results go.
template <class Config>
struct BenchSettings {
  Config bench;
  std::string csv, plot, rank_output;
  int profile = 0;
  bool json = false;
};

// The table of a benchmark's flags: its config's fields, then --csv, --plot
// (where `plots`), --json. One table gives the flags, the help, the config
// written beside the CSV and docs/CLI-REFERENCE.md.
template <class Config>
std::vector<base::ConfigField<BenchSettings<Config>>> bench_fields(bool plots, const std::string& csv_help) {
  using S = BenchSettings<Config>;
  auto table = base::nested_fields<S>(Config::fields(), [](S& s) -> Config& { return s.bench; });
  table.push_back(base::field("csv", &S::csv, csv_help));
  if (plots) table.push_back(base::field("plot", &S::plot, "write SVG plots into this folder"));
  table.push_back(base::field("json", &S::json,
                              "print one JSON object instead of the table: config, machine and the results (rows; "
                              "bench policy: variants, sweep)",
                              {"", false, std::nullopt, true}));
  return table;
}

// The settings as given, with what the benchmark resolved (its config's to_json).
template <class Config>
nlohmann::json settings_json(const BenchSettings<Config>& s,
                             const std::vector<base::ConfigField<BenchSettings<Config>>>& table) {
  auto j = base::fields_to_json(s, table);
  j.update(s.bench.to_json());
  return j;
}

// Parses a benchmark's command line into `s` (false after --help) and checks
// that --csv and --plot can be written before the work starts: the plot folder
// may hold `plot_files` only where this benchmark drew them (its record beside).
template <class Config>
bool parse_bench(const std::string& command, int argc, char** argv, const std::string& usage,
                 const std::vector<base::ConfigField<BenchSettings<Config>>>& table, BenchSettings<Config>& s,
                 const std::set<std::string>& required = {}, const std::vector<std::string>& plot_files = {}) {
  po::variables_map vm;
  po::options_description options("Options");
  add_config_options(options, table, s, required);
  if (!parse(argc, argv, usage, options, vm)) return false;
  apply_config_options(vm, table, s);
  if (!s.csv.empty()) require_table_output("csv", s.csv, command);  // before the benchmark, not after it
  if (!s.plot.empty()) require_folder_output("plot", s.plot, command, plot_files);
  return true;
}

constexpr const char* kCsvHelp = "also write the table to this CSV file (and its config beside it)";

// Prints the resolved configuration (to stderr when stdout carries JSON); the
// record written beside the CSV and the plots, with what ran it (provenance).
nlohmann::json announce(const std::string& command, const nlohmann::json& config, bool json, int argc, char** argv) {
  const nlohmann::json resolved{{"command", command}, {"config", config}, {"machine", bench::machine_info()}};
  (json ? std::cerr : std::cout) << "config: " << resolved.dump() << std::endl;
  auto record = resolved;
  record["provenance"] = provenance(argc, argv);
  return record;
}

// The plots' record: DIR/bench-NAME.config.json beside the SVGs ("bench train" -> bench-train).
void save_plot_record(const std::string& plot_dir, const nlohmann::json& resolved) {
  base::write_file_atomically(folder_record(plot_dir, resolved.at("command").get<std::string>()),
                              resolved.dump(2) + "\n");
}

// Writes the CSV (and the config beside it) if asked, then prints the table
// (after `legend`) or one JSON object.
void report(const bench::Table& table, const nlohmann::json& resolved, const std::string& csv, bool json,
            const std::string& legend) {
  if (!csv.empty()) {
    const auto parent = std::filesystem::path(csv).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    table.write_csv(csv);
    save_config_next_to(csv, resolved);
  }
  if (json) {
    auto out = resolved;
    out["rows"] = table.to_json();
    std::cout << out.dump(2) << std::endl;
  } else {
    std::cout << legend << table.format();
  }
}

int run_bench_scan(int argc, char** argv) {
  BenchSettings<bench::ScanBenchConfig> s;
  const auto flags = bench_fields<bench::ScanBenchConfig>(false, kCsvHelp);
  if (!parse_bench("bench scan", argc, argv,
                   "[options] (defaults: B = 16, d_model = 128, N = 60, 600, 3000, H = 1 and 4)", flags, s))
    return kExitOk;
  auto& config = s.bench;
  const auto& [csv, json] = std::tie(s.csv, s.json);
  if (config.batch <= 0) throw UsageError("--batch-size must be > 0");
  if (config.threads <= 0) throw UsageError("--threads must be > 0");
  if (config.min_rounds <= 0) throw UsageError("--min-rounds must be > 0");
  try {
    parse_device("--device", config.device);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  for (auto n : config.lengths)
    if (n <= 0) throw UsageError("--lengths must be > 0, got " + std::to_string(n));
  for (auto h : config.heads)
    if (h <= 0 || config.d_model % h != 0)
      throw UsageError("--heads must divide --embed-dim (" + std::to_string(config.d_model) + "), got " +
                       std::to_string(h));

  set_cpu_threads(config.threads);
  const auto resolved = announce("bench scan", settings_json(s, flags), json, argc, argv);
  report(bench::run_scan_bench(config, &std::cerr), resolved, csv, json,
         "\nTimes are medians over interleaved rounds (ms); ratios are of fwd+bwd medians;\n"
         "errors are max |x - brute force| (float64 brute force, float32 inputs).\n\n");
  return kExitOk;
}

int run_bench_data(int argc, char** argv) {
  BenchSettings<bench::DataBenchConfig> s;
  const auto flags = bench_fields<bench::DataBenchConfig>(false, kCsvHelp);
  if (!parse_bench("bench data", argc, argv, "[options]", flags, s)) return kExitOk;
  auto& config = s.bench;
  const auto& [csv, json] = std::tie(s.csv, s.json);
  if (config.transitions <= 0 || config.obs_dim <= 0 || config.act_dim <= 0)
    throw UsageError("--transitions, --obs-dim and --act-dim must be > 0");
  if (config.batch <= 0 || config.context <= 0 || config.episode_batch <= 0)
    throw UsageError("--batch-size, --context and --episode-batch must be > 0");
  std::error_code ec;
  if (config.file.empty() && !std::filesystem::is_directory(config.workdir, ec))
    throw UsageError("--workdir " + config.workdir + ": no such folder (the generated file is written there)");
  if (config.file.empty()) require_writable("workdir", config.workdir, /*folder=*/true);
  at::set_num_threads(1);  // the sampling rates are per core
  const auto resolved = announce("bench data", settings_json(s, flags), json, argc, argv);
  bench::Table table;
  try {
    table = bench::run_data_bench(config, &std::cerr);
  } catch (const data::DataError& e) {  // --dataset: the user's file is bad input (exit 2)
    if (config.file.empty()) throw;
    throw InputError(e.what());
  }
  report(table, resolved, csv, json, "\n");
  return kExitOk;
}

int run_bench_env(int argc, char** argv) {
  BenchSettings<bench::EnvBenchConfig> s;
  const auto flags = bench_fields<bench::EnvBenchConfig>(false, kCsvHelp);
  if (!parse_bench("bench env", argc, argv, "[options]", flags, s)) return kExitOk;
  auto& config = s.bench;
  const auto& [csv, json] = std::tie(s.csv, s.json);
  if (config.steps < 1 || config.num_envs < 1 || config.vector_steps < 1)
    throw UsageError("--steps, --num-envs and --vector-steps must be >= 1");
  for (int t : config.threads)
    if (t < 1) throw UsageError("--env-threads must be >= 1");
  const auto resolved = announce("bench env", settings_json(s, flags), json, argc, argv);
  bench::Table table;
  try {
    table = bench::run_env_bench(config, &std::cerr);
  } catch (const envs::EnvError& e) {
    throw InputError(e.what());
  }
  report(table, resolved, csv, json,
         "\nraw = mj_step x frame_skip on the same model and actions; overhead = env / raw (target <= 1.15)\n\n");
  return kExitOk;
}

namespace {
// The per-step and sweep tables beside the summary CSV, and the plots.
void write_policy_tables(const bench::PolicyBenchResult& result, const std::string& csv, const std::string& plot_dir,
                         const nlohmann::json& resolved) {
  if (!csv.empty()) {
    const auto parent = std::filesystem::path(csv).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    auto sibling = [&](const std::string& suffix) {
      auto path = std::filesystem::path(csv);
      return (path.parent_path() / (path.stem().string() + suffix)).string();
    };
    result.steps.write_csv(sibling("_steps.csv"));
    if (!result.sweep.rows.empty()) {
      result.sweep.write_csv(sibling("_sweep.csv"));
      result.sweep_summary.write_csv(sibling("_sweep_summary.csv"));
    }
  }
  if (!plot_dir.empty()) {
    std::filesystem::create_directories(plot_dir);
    save_plot_record(plot_dir, resolved);  // first: figures drawn and then lost their record would be refused
    bench::write_policy_plots(result, plot_dir);
  }
}
}  // namespace

int run_bench_policy(int argc, char** argv) {
  BenchSettings<bench::PolicyBenchConfig> s;
  s.bench.sweep_tokens = -1;  // 10 x --steps: a short run sweeps briefly
  const auto flags = bench_fields<bench::PolicyBenchConfig>(
      true, "write the summary to this CSV (per-step and sweep tables and the config beside it)");
  if (!parse_bench("bench policy", argc, argv,
                   "[options] (defaults: DT's size, 128-d, 3 layers, 1 head, K = 20; 1 thread)", flags, s, {},
                   bench::policy_plot_files()))
    return kExitOk;
  auto& config = s.bench;
  const auto& [csv, plot_dir, json] = std::tie(s.csv, s.plot, s.json);
  if (config.sweep_tokens == -1) config.sweep_tokens = 10 * config.steps;
  try {
    config.validate();
    if (config.checkpoint.empty()) envs::resolve_env_name(config.env);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  } catch (const envs::EnvError& e) {
    throw InputError(e.what());
  }
  set_cpu_threads(config.threads);
  const auto resolved = announce("bench policy", settings_json(s, flags), json, argc, argv);
  bench::PolicyBenchResult result;
  try {
    result = bench::run_policy_bench(config, &std::cerr);
  } catch (const std::runtime_error& e) {  // an unreadable checkpoint
    throw InputError(e.what());
  }
  write_policy_tables(result, csv, plot_dir, resolved);
  if (json) {
    auto out = resolved;
    out["variants"] = result.summary.to_json();
    out["sweep"] = result.sweep_summary.to_json();
    if (!result.floor.is_null()) out["lean_floor"] = result.floor;
    std::cout << out.dump(2) << std::endl;
    if (!csv.empty()) {
      result.summary.write_csv(csv);
      save_config_next_to(csv, resolved);
    }
    return kExitOk;
  }
  report(result.summary, resolved, csv, false,
         "\nPer env step (one call of the policy for the whole batch): median and p99 over every timed step,\n"
         "variants interleaved in blocks of --block steps. window_over_variant = DT's window (interleaved layout) "
         "median / this one's. state_bytes: what the\n"
         "policy keeps between steps; rss_growth: process RSS against before the policy was made (run alone).\n\n");
  if (!result.floor.is_null())
    std::cout << "\nLean runtime floor: " << result.floor["weight_bytes_per_env_step"].get<int64_t>()
              << " weight bytes per env step (three tokens, one pass) at "
              << result.floor["read_bandwidth_gb_per_s"].get<double>()
              << " GB/s read bandwidth (a buffer that size) = " << result.floor["floor_us_per_env_step"].get<double>()
              << " µs per env step\n";
  if (!result.sweep_summary.rows.empty())
    std::cout << "\nBatch-1 sweep (each variant alone; median over the last 10% of steps before each point):\n\n"
              << result.sweep_summary.format();
  return kExitOk;
}

namespace {

// A table written by rank 0 of a data-parallel measurement, read back.
void append_rows(bench::Table& to, const std::string& json_file) {
  std::ifstream in(json_file);
  const auto rows = nlohmann::json::parse(in);
  for (const auto& row : rows) {
    std::vector<base::Cell> cells;
    for (const auto& column : to.columns) {
      const auto& v = row.at(column);
      if (v.is_number_integer())
        cells.emplace_back(v.get<int64_t>());
      else if (v.is_number())
        cells.emplace_back(v.get<double>());
      else
        cells.emplace_back(v.is_null() ? std::nan("") : 0.0);
    }
    to.add_row(cells);
  }
}

// `bench train --nproc 1 2 ...`: each count in turn, 1 in this process and
// N > 1 as N ranks of this same command (rank 0 hands its rows back in a file).
bench::Table run_data_parallel(const bench::TrainBenchConfig& config, int argc, char** argv) {
  bench::Table all;
  for (const int n : config.nproc) {
    if (n == 1) {
      const auto t = bench::run_data_parallel_train_bench(config, &std::cerr);
      all.columns = t.columns;
      for (const auto& row : t.rows) all.add_row(row);
      continue;
    }
    const auto rows_file =
        base::temp_file_name(std::filesystem::temp_directory_path().string() + "/aaren-bench-dp.json");
    std::vector<std::string> args{"bench", "train"};
    args.insert(args.end(), argv + 1, argv + argc);
    args.insert(args.end(), {"--rank-output", rows_file});
    const int code = dist::launch_local_ranks(n, args, std::chrono::seconds(30));
    if (code != 0)
      throw std::runtime_error("--nproc " + std::to_string(n) + ": a rank failed (exit " + std::to_string(code) + ")");
    if (all.columns.empty()) all.columns = bench::data_parallel_train_columns(config);
    append_rows(all, rows_file);
    std::filesystem::remove(rows_file);
  }
  return all;
}

}  // namespace

int run_bench_train(int argc, char** argv) {
  using S = BenchSettings<bench::TrainBenchConfig>;
  S s;
  auto flags = bench_fields<bench::TrainBenchConfig>(true, kCsvHelp);
  flags.insert(flags.end() - 3,
               {base::field("profile", &S::profile,
                            "instead: where an update's time goes, per operator (LibTorch's profiler; N updates at the "
                            "first length, 3 for a bare --profile; 0: off)")
                    .implicitly("3"),
                base::field("rank-output", &S::rank_output, "(internal) rank 0 of --nproc writes its rows here")});
  if (!parse_bench("bench train", argc, argv,
                   "[options] (defaults: DT's size, 128-d, 3 layers, 1 head; Hopper's sizes; 1 thread)", flags, s, {},
                   bench::train_plot_files()))
    return kExitOk;
  auto& config = s.bench;
  const auto& [csv, plot_dir, rank_output, profile_updates, json] =
      std::tie(s.csv, s.plot, s.rank_output, s.profile, s.json);
  if (!config.nproc.empty() && dist::started_as_rank()) {  // one rank of a data-parallel measurement
    const auto table = bench::run_data_parallel_train_bench(config, &std::cerr);
    if (!rank_output.empty() && !table.rows.empty())
      base::write_file_atomically(rank_output, table.to_json().dump() + "\n");
    return kExitOk;
  }
  try {
    config.validate();
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  set_cpu_threads(config.threads);
  const auto resolved = announce("bench train", settings_json(s, flags), json, argc, argv);
  if (profile_updates > 0) {
    const auto table = bench::run_train_profile(config, profile_updates, 15);
    report(table, resolved, csv, json,
           "\nSelf time per update (an operator's time less that of the operators it calls; 'phase: ...' rows are\n"
           "what the phase spends outside operators), largest first; share = of the whole update.\n\n");
    return kExitOk;
  }
  if (!config.nproc.empty()) {
    if (!dist::available()) throw UsageError("--nproc: this build has no distributed training (install libgloo-dev)");
    const auto table = run_data_parallel(config, argc, argv);
    report(table, resolved, csv, json,
           "\nOne data-parallel update of each backbone (forward, MSE loss, backward, all-reduce, clip, AdamW) on the\n"
           "global batch split over the ranks; medians over interleaved rounds; allreduce = its share of the update,\n"
           "waiting for the slower rank included.\n\n");
    return kExitOk;
  }
  const auto table = bench::run_train_bench(config, &std::cerr);
  if (!plot_dir.empty()) {
    std::filesystem::create_directories(plot_dir);
    save_plot_record(plot_dir, resolved);  // first: figures drawn and then lost their record would be refused
    bench::write_train_plots(table, plot_dir);
  }
  report(table, resolved, csv, json,
         "\nOne training step (forward, MSE loss, backward, clip, AdamW) on the same batch; times are medians over\n"
         "interleaved rounds; peak = peak RSS growth during one step of each alone (VmHWM).\n\n");
  return kExitOk;
}

int run_bench_conditioning(int argc, char** argv) {
  BenchSettings<bench::ConditioningBenchConfig> s;
  const auto flags = bench_fields<bench::ConditioningBenchConfig>(false, kCsvHelp);
  if (!parse_bench("bench conditioning", argc, argv, "--checkpoint A.pt [B.pt ...] --dataset FILE [options]", flags, s,
                   {"checkpoint", "dataset"}))
    return kExitOk;
  auto& config = s.bench;
  const auto& [csv, json] = std::tie(s.csv, s.json);
  try {
    config.validate();
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  set_cpu_threads(config.threads);
  const auto resolved = announce("bench conditioning", settings_json(s, flags), json, argc, argv);
  bench::Table table;
  try {
    table = bench::run_conditioning_bench(config, &std::cerr);
  } catch (const std::runtime_error& e) {  // an unreadable checkpoint or dataset
    throw InputError(e.what());
  } catch (const std::invalid_argument& e) {
    throw InputError(e.what());
  }
  report(table, resolved, csv, json,
         "\nEach agent driven along dataset episodes (their states and actions), conditioned on a target G as when\n"
         "acting (in its evaluation mode: recurrent on the whole prefix, or DT's window of K steps). At step t:\n"
         "d_target = |d a_t / d G|, d_current = |d a_t / d R_t| (the current return-to-go token alone), both per\n"
         "return_scale (1000) of return; shift = |a_t(G) - a_t(G_low)|. Means over episodes.\n\n");
  return kExitOk;
}

}  // namespace

int run_bench(int argc, char** argv) {
  const std::vector<Command> benches{
      {"scan", "fast scan vs reference scan vs causal attention: time and error", run_bench_scan},
      {"env", "env step cost over raw mj_step, vectorised throughput per --env-threads", run_bench_env},
      {"policy", "acting cost and state per env step: every backbone in each of its modes, lean too", run_bench_policy},
      {"train", "training step time and peak memory vs sequence length, per backbone", run_bench_train},
      {"data", "HDF5 load time and batch sampling rate (DT windows, whole episodes)", run_bench_data},
      {"conditioning", "how strongly trained agents' actions respond to the target return, early and late",
       run_bench_conditioning},
  };
  return dispatch(argv[0], "Benchmarks: each prints a table and can write CSV/JSON.", benches, argc, argv);
}

}  // namespace aaren::cli
