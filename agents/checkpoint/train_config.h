// The decision trainer's configuration: DT's defaults (Chen et al. 2021,
// "Decision Transformer"), each field described once in fields() and from
// there mapped to its command-line flag, its JSON key in config.json and in
// checkpoints, and whether a resumed run may change it. No LibTorch here.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "agents/models/backbones.h"
#include "agents/models/kinds.h"
#include "base/config_fields.h"

namespace aaren {

struct TrainConfig {
  std::string dataset;  // D4RL .hdf5, Minari main_data.hdf5 or folder
  std::string env;      // for evaluation; empty: from the dataset's metadata or file name
  std::string out_dir;  // config.json, train_log.csv, eval.csv, checkpoint.pt
  BackboneKind backbone = BackboneKind::kAaren;
  TokenLayout tokens = TokenLayout::kInterleaved;
  bool fused_norm = true;  // fused: LayerNorm R's, s's and a's embeddings before summing them
  int64_t embed_dim = 128, n_layers = 3, n_heads = 1;
  double dropout = 0.1;
  int64_t context = 20;       // K: Transformer windows (steps)
  int64_t batch_size = 64;    // windows per update (the Transformer; Aaren with windows)
  int64_t aaren_batch = 8;    // Aaren: whole episodes per update
  int64_t chunk_steps = 200;  // Aaren, LSTM: env steps per chunk (3 tokens each interleaved, 1 fused)
  AarenSampling aaren_sampling = AarenSampling::kEpisodes;
  double recency = 0.0;  // Aaren: initial rate of the learned per-head recency bias (0: none)
  int64_t updates = 100000;
  double lr = 1e-4, weight_decay = 1e-4;
  int64_t warmup = 10000;  // linear warm-up updates
  LrSchedule lr_schedule = LrSchedule::kConstant;
  double grad_clip = 0.25;
  double return_scale = 1000.0;
  // DT's controls (Chen et al. 2021, section 5.1, "%BC"): false trains and acts
  // with the return-to-go input held at 0 (behaviour cloning with the same
  // backbone and tokens); top_fraction < 1 keeps only the highest-return
  // episodes, best first, up to that fraction of the data's timesteps.
  bool condition_on_return = true;
  double top_fraction = 1.0;
  int64_t max_ep_len = 1000;
  double target_return = 0.0;        // the agent's acting target; 0: the env's higher DT target (hopper 3600, ...)
  std::vector<double> eval_targets;  // each evaluation conditions on each; empty: the env's two DT targets
  // The normalised score's references [0-point, 100-point] returns, resolved
  // when training starts: the dataset's own (Minari's ref_min_score,
  // ref_max_score), else the env's (D4RL's). Empty in older checkpoints: the env's.
  std::vector<double> score_references;
  int64_t eval_every = 0;  // updates between evaluations; 0: updates / 10 (the last update always)
  int64_t eval_episodes = 10;
  // How evaluations act: "auto" (the backbone's default mode: Aaren and the
  // LSTM recurrently, the Transformer on DT's window) or a mode it acts in
  // ("recurrent", "window", "kvcache"). A model trained on DT's windows acts as
  // DT evaluates it with "window" (Decision LSTM, Siebenborn et al. 2022, keeps
  // DT's evaluation). `aaren rollout --mode auto` follows it.
  std::string eval_mode = "auto";
  int64_t checkpoint_every = 1000;  // checkpoint_<update>.pt every N updates (0: only at the end and on a signal)
  int64_t keep_last = 1;            // periodic checkpoints kept, newest first (0: all)
  uint64_t seed = 0;
  int threads = 2;
  std::string device = "cpu";      // "cpu" | "cuda" | "cuda:N" (a CUDA LibTorch); evaluation runs on the CPU
  std::string precision = "fp32";  // "fp32" | "bf16" (mixed: bf16 matmuls, fp32 weights and scan state)
  bool cuda_graphs = false;        // DT's step captured in a CUDA graph and replayed (graph_step.h)
  std::string resume;              // continue from this checkpoint
  int nproc = 1;                   // data-parallel ranks (the world size; torchrun's WORLD_SIZE sets it too)
  double dist_timeout = 1800;      // seconds: the rendezvous and each collective (a dead or stuck rank)

  // Every field: flag, JSON key, help, whether --resume may change it.
  static const std::vector<base::ConfigField<TrainConfig>>& fields();

  void validate() const;  // throws std::invalid_argument naming the flag
  // The mode evaluations act in (eval_mode resolved for the backbone).
  ActMode evaluation_mode() const;
  // Whole episodes per update (its backbone can, and --aaren-sampling episodes), else DT's windows.
  bool trains_on_episodes() const {
    return descriptor(backbone).trains_on_episodes && aaren_sampling == AarenSampling::kEpisodes;
  }
  nlohmann::json to_json() const;
  // Throws std::invalid_argument naming a missing or mistyped key.
  static TrainConfig from_json(const nlohmann::json& j);
};

// A return to condition on must be finite and, as the model sees it (target / return_scale),
// within +-2^64: past that, the square of its embedding overflows float in the first layer
// norm and every action is NaN (measured: 1e25 with the scale 1000, on each backbone), the
// bound the dataset reader puts on the data's values for the same reason. Throws
// std::invalid_argument naming `flag` ("--eval-targets", "--target-return").
void check_target_return(const std::string& flag, double target, double return_scale);

// The learning rate of update `update` (0-based): linear warm-up, then the schedule.
double learning_rate(const TrainConfig& config, int64_t update);

}  // namespace aaren
