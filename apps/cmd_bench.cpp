// aaren bench <benchmark>: benchmarks that print a table and write CSV/JSON.
#include <ATen/Parallel.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "apps/cli.h"
#include "base/atomic_file.h"
#include "apps/commands.h"
#include "bench/conditioning_bench.h"
#include "bench/data_bench.h"
#include "bench/env_bench.h"
#include "bench/policy_bench.h"
#include "agents/models/device.h"
#include "bench/scan_bench.h"
#include "bench/train_bench.h"
#include "agents/training/distributed.h"
#include "envs/env.h"
#include "envs/registry.h"

namespace aaren::cli {

namespace po = boost::program_options;

namespace {
// Names separated by spaces (a multitoken flag's default as typed).
std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : " ") + n;
  return out;
}


// Where a CSV goes, its resolved configuration goes beside it.
void save_config_next_to(const std::string& csv_path, const nlohmann::json& config) {
  auto path = std::filesystem::path(csv_path);
  path.replace_extension(".config.json");
  base::write_file_atomically(path.string(), config.dump(2) + "\n");
}

// Prints the resolved configuration (to stderr when stdout carries JSON).
nlohmann::json announce(const std::string& command, const nlohmann::json& config, bool json) {
  const nlohmann::json resolved{{"command", command}, {"config", config}, {"machine", bench::machine_info()}};
  (json ? std::cerr : std::cout) << "config: " << resolved.dump() << std::endl;
  return resolved;
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
  bench::ScanBenchConfig config;
  std::string csv;
  bool json = false;
  po::options_description options("Options (defaults: B = 16, d_model = 128, N = 60, 600, 3000, H = 1 and 4)");
  options.add_options()
      ("lengths", po::value(&config.lengths)->multitoken()->default_value(config.lengths, "60 600 3000"),
       "sequence lengths N")
      ("heads", po::value(&config.heads)->multitoken()->default_value(config.heads, "1 4"), "head counts H")
      ("batch-size", po::value(&config.batch)->default_value(config.batch), "batch size B")
      ("embed-dim", po::value(&config.d_model)->default_value(config.d_model), "model width (H x d_head)")
      ("threads", po::value(&config.threads)->default_value(config.threads), "LibTorch threads")
      ("min-rounds", po::value(&config.min_rounds)->default_value(config.min_rounds),
       "interleaved timing rounds per case, at least")
      ("min-seconds", po::value(&config.min_seconds)->default_value(config.min_seconds),
       "keep adding rounds until a case has run this long")
      ("seed", po::value(&config.seed)->default_value(config.seed), "random seed of the inputs")
      ("no-errors", po::bool_switch(), "skip the comparison with the float64 brute force")
      ("device", po::value(&config.device)->default_value(config.device), "cpu | cuda | cuda:N (a CUDA LibTorch)")
      ("csv", po::value(&csv), "also write the table to this CSV file (and its config beside it)")
      ("json", po::bool_switch(&json), "print one JSON object (config, machine, rows) instead of the table");
  po::variables_map vm;
  if (!parse(argc, argv, "[options]", options, vm)) return kExitOk;
  if (!csv.empty()) require_writable("csv", csv);  // before the benchmark, not after it
  config.check_errors = !vm["no-errors"].as<bool>();
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

  at::set_num_threads(config.threads);
  const auto resolved = announce("bench scan", config.to_json(), json);
  report(bench::run_scan_bench(config, &std::cerr), resolved, csv, json,
         "\nTimes are medians over interleaved rounds (ms); ratios are of fwd+bwd medians;\n"
         "errors are max |x - brute force| (float64 brute force, float32 inputs).\n\n");
  return kExitOk;
}

int run_bench_data(int argc, char** argv) {
  bench::DataBenchConfig config;
  std::string csv;
  bool json = false;
  po::options_description options("Options");
  options.add_options()
      ("dataset", po::value(&config.file), "load this D4RL/Minari file instead of generating one")
      ("transitions", po::value(&config.transitions)->default_value(config.transitions), "generated file: transitions")
      ("obs-dim", po::value(&config.obs_dim)->default_value(config.obs_dim), "generated file: observation width")
      ("act-dim", po::value(&config.act_dim)->default_value(config.act_dim), "generated file: action width")
      ("workdir", po::value(&config.workdir)->default_value(config.workdir), "where the generated file is written")
      ("batch-size", po::value(&config.batch)->default_value(config.batch), "DT windows per batch")
      ("context", po::value(&config.context)->default_value(config.context), "DT context K (steps)")
      ("episode-batch", po::value(&config.episode_batch)->default_value(config.episode_batch),
       "whole episodes per batch")
      ("seconds", po::value(&config.seconds)->default_value(config.seconds), "duration of each rate measurement")
      ("seed", po::value(&config.seed)->default_value(config.seed), "random seed")
      ("csv", po::value(&csv), "also write the table to this CSV file (and its config beside it)")
      ("json", po::bool_switch(&json), "print one JSON object instead of the table");
  po::variables_map vm;
  if (!parse(argc, argv, "[options]", options, vm)) return kExitOk;
  if (!csv.empty()) require_writable("csv", csv);  // before the benchmark, not after it
  if (config.transitions <= 0 || config.obs_dim <= 0 || config.act_dim <= 0)
    throw UsageError("--transitions, --obs-dim and --act-dim must be > 0");
  if (config.batch <= 0 || config.context <= 0 || config.episode_batch <= 0)
    throw UsageError("--batch-size, --context and --episode-batch must be > 0");
  at::set_num_threads(1);  // the sampling rates are per core
  const auto resolved = announce("bench data", config.to_json(), json);
  report(bench::run_data_bench(config, &std::cerr), resolved, csv, json, "\n");
  return kExitOk;
}

int run_bench_env(int argc, char** argv) {
  bench::EnvBenchConfig config;
  std::string csv;
  bool json = false;
  po::options_description options("Options");
  options.add_options()
      ("envs", po::value(&config.envs)->multitoken()->default_value(config.envs, "hopper halfcheetah walker2d ant"),
       "environments")
      ("steps", po::value(&config.steps)->default_value(config.steps), "single-env steps per env")
      ("num-envs", po::value(&config.num_envs)->default_value(config.num_envs), "vectorised: envs stepped together")
      ("vector-steps", po::value(&config.vector_steps)->default_value(config.vector_steps),
       "vectorised: steps per thread count")
      ("env-threads", po::value(&config.threads)->multitoken()->default_value(config.threads, "1 2"),
       "env thread counts for the vectorised measurement")
      ("seed", po::value(&config.seed)->default_value(config.seed), "random seed")
      ("csv", po::value(&csv), "also write the table to this CSV file (and its config beside it)")
      ("json", po::bool_switch(&json), "print one JSON object instead of the table");
  po::variables_map vm;
  if (!parse(argc, argv, "[options]", options, vm)) return kExitOk;
  if (!csv.empty()) require_writable("csv", csv);  // before the benchmark, not after it
  if (config.steps < 1 || config.num_envs < 1 || config.vector_steps < 1)
    throw UsageError("--steps, --num-envs and --vector-steps must be >= 1");
  for (int t : config.threads)
    if (t < 1) throw UsageError("--threads must be >= 1");
  const auto resolved = announce("bench env", config.to_json(), json);
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
void write_policy_tables(const bench::PolicyBenchResult& result, const std::string& csv, const std::string& plot_dir) {
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
    bench::write_policy_plots(result, plot_dir);
  }
}
}  // namespace

int run_bench_policy(int argc, char** argv) {
  bench::PolicyBenchConfig config;
  std::string csv, plot_dir;
  bool json = false;
  po::options_description options("Options (defaults: DT's size, 128-d, 3 layers, 1 head, K = 20; 1 thread)");
  options.add_options()
      ("checkpoint", po::value(&config.checkpoint), "take sizes, normalisation and weights from 'aaren train'")
      ("env", po::value(&config.env)->default_value(config.env), "observation and action sizes (no checkpoint)")
      ("embed-dim", po::value(&config.d_model)->default_value(config.d_model), "model width (no checkpoint)")
      ("layers", po::value(&config.n_layers)->default_value(config.n_layers), "blocks (no checkpoint)")
      ("heads", po::value(&config.n_heads)->default_value(config.n_heads), "heads (no checkpoint)")
      ("context", po::value(&config.context)->default_value(config.context), "K: window length in steps")
      ("steps", po::value(&config.steps)->default_value(config.steps), "env steps per timed episode")
      ("batch-size", po::value(&config.batches)->multitoken()->default_value(config.batches, "1 16"), "batch sizes")
      ("repeats", po::value(&config.repeats)->default_value(config.repeats), "timed episodes per batch size")
      ("block", po::value(&config.block)->default_value(config.block),
       "variants take turns every this many env steps (1: step by step, cold caches)")
      ("sweep-tokens", po::value(&config.sweep_tokens)->value_name("N"),
       "batch-1 sweep up to this many tokens (0: none; default 10 x --steps: 10,000 at the default 1000)")
      ("variants", po::value(&config.variants)->multitoken()->default_value(config.variants,
       joined(bench::policy_variants())), "what to measure: <backbone>-<mode> (aaren backbones lists them) or <backbone>-lean")
      ("tokens", po::value(&config.tokens)->multitoken()->default_value(config.tokens, "interleaved fused"),
       "token layouts: interleaved (DT, 3 per step), fused (1 per step)")
      ("threads", po::value(&config.threads)->default_value(config.threads), "LibTorch threads")
      ("seed", po::value(&config.seed)->default_value(config.seed), "random seed (weights and inputs)")
      ("csv", po::value(&csv), "write the summary to this CSV (per-step and sweep tables and the config beside it)")
      ("plot", po::value(&plot_dir), "write SVG plots into this folder")
      ("json", po::bool_switch(&json), "print one JSON object instead of the tables");
  po::variables_map vm;
  if (!parse(argc, argv, "[options]", options, vm)) return kExitOk;
  if (!vm.count("sweep-tokens")) config.sweep_tokens = 10 * config.steps;  // a short run sweeps briefly
  if (!csv.empty()) require_writable("csv", csv);  // before the benchmark, not after it
  if (!plot_dir.empty()) require_writable("plot", plot_dir, /*folder=*/true);
  try {
    config.validate();
    if (config.checkpoint.empty()) envs::resolve_env_name(config.env);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  } catch (const envs::EnvError& e) {
    throw InputError(e.what());
  }
  at::set_num_threads(config.threads);
  const auto resolved = announce("bench policy", config.to_json(), json);
  bench::PolicyBenchResult result;
  try {
    result = bench::run_policy_bench(config, &std::cerr);
  } catch (const std::runtime_error& e) {  // an unreadable checkpoint
    throw InputError(e.what());
  }
  write_policy_tables(result, csv, plot_dir);
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
         "variants interleaved in blocks of --block steps. window_over_variant = DT's window (interleaved layout) median / this one's. state_bytes: what the\n"
         "policy keeps between steps; rss_growth: process RSS against before the policy was made (run alone).\n\n");
  if (!result.floor.is_null())
    std::cout << "\nLean runtime floor: " << result.floor["weight_bytes_per_env_step"].get<int64_t>()
              << " weight bytes per env step (three tokens, one pass) at "
              << result.floor["read_bandwidth_gb_per_s"].get<double>() << " GB/s read bandwidth (a buffer that size) = "
              << result.floor["floor_us_per_env_step"].get<double>() << " us per env step\n";
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
    const auto rows_file = base::temp_file_name(std::filesystem::temp_directory_path().string() + "/aaren-bench-dp.json");
    std::vector<std::string> args{"bench", "train"};
    args.insert(args.end(), argv + 1, argv + argc);
    args.insert(args.end(), {"--rank-output", rows_file});
    const int code = dist::launch_local_ranks(n, args, std::chrono::seconds(30));
    if (code != 0) throw std::runtime_error("--nproc " + std::to_string(n) + ": a rank failed (exit " + std::to_string(code) + ")");
    if (all.columns.empty()) all.columns = bench::data_parallel_train_columns(config);
    append_rows(all, rows_file);
    std::filesystem::remove(rows_file);
  }
  return all;
}

}  // namespace

int run_bench_train(int argc, char** argv) {
  bench::TrainBenchConfig config;
  std::string csv, plot_dir, rank_output;
  int profile_updates = 0;
  bool json = false;
  po::options_description options("Options (defaults: DT's size, 128-d, 3 layers, 1 head; Hopper's sizes; 1 thread)");
  options.add_options()
      ("lengths", po::value(&config.lengths)->multitoken()->default_value(config.lengths, "60 150 300 600 1500 3000"),
       "tokens per sequence (multiples of 3)")
      ("batch-size", po::value(&config.batch)->default_value(config.batch), "sequences per step")
      ("embed-dim", po::value(&config.d_model)->default_value(config.d_model), "model width")
      ("layers", po::value(&config.n_layers)->default_value(config.n_layers), "blocks")
      ("heads", po::value(&config.n_heads)->default_value(config.n_heads), "heads")
      ("threads", po::value(&config.threads)->default_value(config.threads), "LibTorch threads")
      ("min-rounds", po::value(&config.min_rounds)->default_value(config.min_rounds), "interleaved rounds, at least")
      ("min-seconds", po::value(&config.min_seconds)->default_value(config.min_seconds),
       "keep adding rounds until a length has run this long")
      ("seed", po::value(&config.seed)->default_value(config.seed), "random seed")
      ("backbones", po::value(&config.backbones)->multitoken(),
       ("backbones to measure, the ratios against the first (default: every one, " + backbone_names(", ") + ")")
           .c_str())
      ("device", po::value(&config.device)->default_value(config.device), "cpu | cuda | cuda:N (a CUDA LibTorch)")
      ("precision", po::value(&config.precision)->default_value(config.precision),
       "fp32 | bf16 (mixed precision; the scan state stays fp32)")
      ("nproc", po::value(&config.nproc)->multitoken(),
       "data-parallel: measure with these numbers of ranks (e.g. 1 2; Gloo on the CPU): updates and samples per "
       "second and the all-reduce's share; --batch-size is the global batch")
      ("dist-timeout", po::value(&config.dist_timeout)->default_value(config.dist_timeout),
       "seconds the ranks wait for each other")
      ("rank-output", po::value(&rank_output), "(internal) rank 0 of --nproc writes its rows here")
      ("profile", po::value(&profile_updates)->implicit_value(3),
       "instead: where an update's time goes, per operator (LibTorch's profiler; N updates at the first length)")
      ("csv", po::value(&csv), "also write the table to this CSV file (and its config beside it)")
      ("plot", po::value(&plot_dir), "write SVG plots into this folder")
      ("json", po::bool_switch(&json), "print one JSON object instead of the table");
  po::variables_map vm;
  if (!parse(argc, argv, "[options]", options, vm)) return kExitOk;
  if (!config.nproc.empty() && dist::started_as_rank()) {  // one rank of a data-parallel measurement
    const auto table = bench::run_data_parallel_train_bench(config, &std::cerr);
    if (!rank_output.empty() && !table.rows.empty())
      base::write_file_atomically(rank_output, table.to_json().dump() + "\n");
    return kExitOk;
  }
  if (!csv.empty()) require_writable("csv", csv);  // before the benchmark, not after it
  if (!plot_dir.empty()) require_writable("plot", plot_dir, /*folder=*/true);
  try {
    config.validate();
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  at::set_num_threads(config.threads);
  const auto resolved = announce("bench train", config.to_json(), json);
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
    bench::write_train_plots(table, plot_dir);
  }
  report(table, resolved, csv, json,
         "\nOne training step (forward, MSE loss, backward, clip, AdamW) on the same batch; times are medians over\n"
         "interleaved rounds; peak = peak RSS growth during one step of each alone (VmHWM).\n\n");
  return kExitOk;
}

int run_bench_conditioning(int argc, char** argv) {
  bench::ConditioningBenchConfig config;
  std::string csv;
  bool json = false;
  po::options_description options("Options");
  options.add_options()
      ("checkpoint", po::value(&config.checkpoints)->multitoken()->composing()->required(),
       "agents from 'aaren train' (several after one flag, or the flag again)")
      ("dataset", po::value(&config.dataset)->required(), "the episodes to drive them along (teacher forcing)")
      ("times", po::value(&config.times)->multitoken()->default_value(config.times, "5 100 500"),
       "env steps t at which to measure")
      ("episodes", po::value(&config.episodes)->default_value(config.episodes),
       "episodes longer than the largest t, drawn at random")
      ("target-high", po::value(&config.target_high)->default_value(config.target_high),
       "target return G for the derivatives (0: the env's DT target, e.g. hopper 3600)")
      ("target-low", po::value(&config.target_low)->default_value(config.target_low),
       "second target for the action shift (0: half of the high one, DT's second target)")
      ("seed", po::value(&config.seed)->default_value(config.seed), "random seed (which episodes)")
      ("threads", po::value(&config.threads)->default_value(config.threads), "LibTorch threads")
      ("csv", po::value(&csv), "also write the table to this CSV file (and its config beside it)")
      ("json", po::bool_switch(&json), "print one JSON object instead of the table");
  po::variables_map vm;
  if (!parse(argc, argv, "--checkpoint A.pt [B.pt ...] --dataset FILE [options]", options, vm)) return kExitOk;
  if (!csv.empty()) require_writable("csv", csv);  // before the benchmark, not after it
  try {
    config.validate();
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  at::set_num_threads(config.threads);
  const auto resolved = announce("bench conditioning", config.to_json(), json);
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
         "acting (Aaren: the whole prefix; Transformer: DT's window of K steps). At step t: d_target = |d a_t / d G|,\n"
         "d_current = |d a_t / d R_t| (the current return-to-go token alone), both per return_scale (1000) of return;\n"
         "shift = |a_t(G) - a_t(G_low)|. Means over episodes.\n\n");
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
