// `aaren bench train`: one decision-policy training step (forward, loss,
// backward, AdamW) against sequence length, Aaren (prefix scan) against the
// Transformer (causal softmax attention), at the same model size and on the
// same batch, timed interleaved in one run; plus each step's peak memory.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "base/config_fields.h"
#include "bench/report.h"

namespace aaren::bench {

struct TrainBenchConfig {
  std::vector<int64_t> lengths{60, 150, 300, 600, 1500, 3000};  // tokens per sequence (3 per env step)
  int64_t batch = 16;                                           // sequences per step
  int64_t d_model = 128;                                        // DT's size: 128-d, 3 layers, 1 head, dropout 0.1
  int64_t n_layers = 3;
  int64_t n_heads = 1;
  int64_t state_dim = 11;  // Hopper's sizes
  int64_t act_dim = 3;
  int threads = 1;
  int min_rounds = 3;        // interleaved rounds per length, at least
  double min_seconds = 3.0;  // ... and until this much time was spent on the length
  uint64_t seed = 0;
  std::string device = "cpu";      // cpu | cuda | cuda:N (a CUDA LibTorch)
  std::string precision = "fp32";  // fp32 | bf16 (autocast; the scan state stays fp32)
  // Data-parallel: rank counts to measure (empty: the length sweep alone).
  // --batch-size is then the global batch, split over the ranks.
  std::vector<int> nproc;
  double dist_timeout = 600;  // seconds, for the ranks' collectives
  // Backbones to measure, by name (agents/models/backbones.h); empty: every
  // registered one. The first is the one the ratios are against.
  std::vector<std::string> backbones;

  void validate() const;  // throws std::invalid_argument naming the flag
  // Each setting described once: its flag, JSON key and help (the command's
  // --help, the config written beside its CSV, docs/CLI-REFERENCE.md).
  static const std::vector<base::ConfigField<TrainBenchConfig>>& fields();
  nlohmann::json to_json() const;
};

// The backbones measured, in order (config.backbones, or every registered one).
std::vector<std::string> train_bench_backbones(const TrainBenchConfig& config);

// Columns, for backbones b1, b2, ... (b1 = aaren by default): tokens,
// env_steps, batch, b1_ms, b2_ms, ..., b2_over_b1, ..., b1_peak_mb, b2_peak_mb,
// ..., rounds. Times are medians over rounds. Peak memory is the CPU's (RSS);
// NaN when the step runs on a GPU.
Table run_train_bench(const TrainBenchConfig& config, std::ostream* progress);

// One rank's part of the data-parallel measurement (the process group from
// torchrun's variables; one process when WORLD_SIZE is unset): each round,
// each backbone's update on this rank's slice of the global batch, with the
// gradients summed across ranks in one all-reduce. On rank 0 the table:
// nproc, tokens, batch (global), then for each backbone b in turn: b_ms (the
// update, as the slowest rank finishes it), then b_updates_per_s, then
// b_samples_per_s, then b_allreduce_ms (the all-reduce's share, waiting for
// peers included); rounds.
// Other ranks return an empty table.
Table run_data_parallel_train_bench(const TrainBenchConfig& config, std::ostream* progress);
std::vector<std::string> data_parallel_train_columns(const TrainBenchConfig& config);

// Where one update's time goes: each backbone's update at the first length,
// `updates` times under LibTorch's profiler, each operator's self time (its
// time less that of the operators it calls) per update, largest first, and
// the phases (forward, backward, clip, optimizer step) as operators of their
// own. Columns: backbone, op, calls_per_update, self_ms_per_update, share.
Table run_train_profile(const TrainBenchConfig& config, int updates, int top);

// train_time_vs_length.svg and train_memory_vs_length.svg.
void write_train_plots(const Table& table, const std::string& dir);
// The names of the files write_train_plots writes.
std::vector<std::string> train_plot_files();

// Peak resident memory since the last reset_peak_resident() (bytes): Linux's
// VmHWM, reset through /proc/self/clear_refs. Returns -1 where unavailable.
int64_t peak_resident_bytes();
bool reset_peak_resident();

}  // namespace aaren::bench
