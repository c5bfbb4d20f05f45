// The agent checkpoint: one sealed file (runtime/sealed_file.h) holding a
// LibTorch archive with the weights, the training config, the state
// normalisation, the env and the update count, and, for --resume, the
// optimiser and random-generator states. Everything that reads an agent
// (rollout, compare, export, benchmarks, the trainer's resume) goes through
// load_checkpoint.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "agents/checkpoint/state_normalizer.h"
#include "agents/checkpoint/train_config.h"
#include "agents/models/decision_policy.h"

namespace aaren {

// What --resume needs beyond the weights, as stored.
struct TrainingSnapshot {
  std::shared_ptr<torch::serialize::InputArchive> optimizer;  // load into an optimiser over the same parameters
  std::string sampler_rng;                                    // the batch sampler's generator
  torch::Tensor torch_rng;                                    // LibTorch's default CPU generator
  torch::Tensor rank_torch_rng;  // [ranks, bytes]: each data-parallel rank's generator (undefined: one rank)
};

// Everything a rollout (or a resumed run) needs, from one checkpoint file.
struct LoadedAgent {
  DecisionPolicy model{nullptr};
  TrainConfig config;
  StateNormalizer normalizer;
  std::string env;
  int64_t update = 0;
  std::optional<TrainingSnapshot> training;  // when the file was written by a training run
};

// The training state save_checkpoint writes beside the weights.
struct TrainingStateRef {
  torch::optim::Optimizer* optimizer = nullptr;
  std::string sampler_rng;
  torch::Tensor torch_rng;
  torch::Tensor rank_torch_rng;  // [ranks, bytes] when trained on several ranks
};

// The model a TrainConfig describes, for data of these sizes.
DecisionConfig decision_config(const TrainConfig& config, int64_t state_dim, int64_t act_dim);

// Writes the checkpoint through a temporary file and a rename.
void save_checkpoint(const std::string& path, const DecisionPolicy& model, const TrainConfig& config,
                     const StateNormalizer& normalizer, const std::string& env, int64_t update,
                     const TrainingStateRef* training = nullptr);

// Reads the file once. Throws std::runtime_error naming the file and what is
// wrong with it (damaged, not a checkpoint, another version, mismatched weights).
LoadedAgent load_checkpoint(const std::string& path);

}  // namespace aaren
