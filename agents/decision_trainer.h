// Offline training of the decision policy on a D4RL/Minari file, with DT's
// defaults (Chen et al. 2021, "Decision Transformer"), and the one-file checkpoint that rollouts load.
//
// The Transformer trains on K-step windows sampled as DT samples them. Aaren
// trains on what its recurrent policy sees when acting: whole episodes from
// their first step, processed in chunks of `chunk_steps` with the scan state
// carried between chunks (gradients stop at chunk boundaries: truncated
// backpropagation), so training and acting compute the same function.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "agents/decision_policy.h"
#include "agents/decision_rollout.h"

namespace aaren {

struct TrainConfig {
  std::string dataset;                 // D4RL .hdf5, Minari main_data.hdf5 or folder
  std::string env;                     // for evaluation; empty: from metadata or the file name
  std::string out_dir;                 // config.json, train_log.csv, eval.csv, checkpoint.pt
  std::string backbone = "aaren";      // "aaren" | "transformer"
  std::string tokens = "interleaved";  // "interleaved" (DT: R, s, a per step) | "fused" (one token per step)
  bool fused_norm = true;              // fused: LayerNorm R's, s's and a's embeddings before summing them
  int64_t embed_dim = 128, n_layers = 3, n_heads = 1;
  double dropout = 0.1;
  int64_t context = 20;       // K: Transformer windows (steps)
  int64_t batch_size = 64;    // Transformer: windows per update
  int64_t aaren_batch = 8;    // Aaren: whole episodes per update
  int64_t chunk_steps = 200;  // Aaren: env steps per chunk (600 tokens)
  // Aaren: "episodes" (whole episodes from their first step, as the recurrent
  // policy sees them) | "windows" (DT's K-step windows, batch_size of them,
  // each from an empty state: cheap, and close to acting only where a recency
  // bias makes tokens older than K steps weigh little)
  std::string aaren_sampling = "episodes";
  double recency = 0.0;  // Aaren: initial rate of the learned per-head recency bias (0: none)
  int64_t updates = 100000;
  double lr = 1e-4, weight_decay = 1e-4;
  int64_t warmup = 10000;  // linear warm-up updates
  std::string lr_schedule = "constant";  // after the warm-up: "constant" (DT's) | "cosine" (to 0 at the last update)
  double grad_clip = 0.25;
  double return_scale = 1000.0;
  int64_t max_ep_len = 1000;
  double target_return = 0.0;  // evaluation target; 0: the env's DT default (hopper 3600, ...)
  int64_t eval_every = 0;      // updates between evaluations (0: only at the end)
  int64_t eval_episodes = 10;
  int64_t checkpoint_every = 0;  // also keep checkpoint_<update>.pt every N updates (0: no)
  uint64_t seed = 0;
  int threads = 2;
  std::string device = "cpu";      // "cpu" | "cuda" | "cuda:N" (a CUDA LibTorch); evaluation runs on the CPU
  std::string precision = "fp32";  // "fp32" | "bf16" (mixed: bf16 matmuls, fp32 weights and scan state)
  std::string resume;              // continue from this checkpoint

  void validate() const;  // throws std::invalid_argument naming the flag
  nlohmann::json to_json() const;
  static TrainConfig from_json(const nlohmann::json& j);
};

// The learning rate of update `update` (0-based): linear warm-up, then the schedule.
double learning_rate(const TrainConfig& config, int64_t update);

// DT's evaluation target for an env: hopper 3600, halfcheetah 12000, walker2d 5000, ant 6000.
double default_target_return(const std::string& env);

// Everything a rollout needs, loaded from one checkpoint file.
struct LoadedAgent {
  DecisionPolicy model{nullptr};
  TrainConfig config;
  StateNormalizer normalizer;
  std::string env;
  int64_t update = 0;
};

// Writes weights, config, normalisation statistics, env and backbone (and,
// for --resume, the optimiser and random-generator states) to one file,
// through a temporary file and a rename.
struct TrainingState;
void save_checkpoint(const std::string& path, const DecisionPolicy& model, const TrainConfig& config,
                     const StateNormalizer& normalizer, const std::string& env, int64_t update,
                     const TrainingState* training = nullptr);
// Throws std::runtime_error naming the file and what is wrong with it.
LoadedAgent load_checkpoint(const std::string& path);

struct TrainProgress {
  int64_t update = 0, updates = 0;
  double loss = 0, lr = 0, updates_per_second = 0, eta_seconds = 0;
  double eval_return = 0, eval_score = 0;  // NaN before the first evaluation
};

struct EvalResult {
  int64_t update = 0;
  double return_mean = 0, return_std = 0, score_mean = 0, score_std = 0;
};

struct TrainResult {
  std::string checkpoint;
  std::vector<EvalResult> evals;
  double final_loss = 0, seconds = 0;
  double dataset_return_mean = 0;
};

TrainResult train_decision(const TrainConfig& config, const std::function<void(const TrainProgress&)>& progress = {});

// Evaluates an agent: `episodes` episodes, seeds from `seed`.
RolloutResult evaluate_agent(DecisionPolicy model, const StateNormalizer& normalizer, const std::string& env,
                             double return_scale, double target_return, ActMode mode, int64_t episodes, uint64_t seed,
                             int64_t num_envs = 0);

}  // namespace aaren
