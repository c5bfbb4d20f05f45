// Offline training of the decision policy on a D4RL/Minari file, with DT's
// defaults (Chen et al. 2021, "Decision Transformer").
//
// The Transformer trains on K-step windows sampled as DT samples them. Aaren
// trains by default on what its recurrent policy sees when acting: whole
// episodes from their first step, processed in chunks of `chunk_steps` with
// the scan state carried between chunks (gradients stop at chunk boundaries:
// truncated backpropagation), so training and acting compute the same function.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "agents/checkpoint/train_config.h"
#include "agents/training/eval_log.h"

namespace aaren {

struct TrainProgress {
  int64_t update = 0, updates = 0;
  double loss = 0, lr = 0, updates_per_second = 0, eta_seconds = 0;
  std::vector<EvalResult> last_evals;  // the latest evaluation, one per target; empty before the first
};

struct TrainResult {
  std::string checkpoint;  // the last one written
  std::vector<EvalResult> evals;
  double final_loss = 0, seconds = 0;
  double dataset_return_mean = 0;
  int64_t updates_done = 0;
  int stop_signal = 0;  // > 0: stopped early by this signal (after a checkpoint), not evaluated at the end
};

// A run stopped because a step's loss, gradient or weights, or an evaluation's actions, are not
// finite: bad input (the data, the step size, an evaluation target), though the run's folder and
// logs are kept (they show the way it went).
struct TrainingDiverged : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// Asks a running DecisionTrainer::run (every rank of it) to stop after the
// update in progress, write checkpoint_<update>.pt and flushed logs, and
// return. Async-signal-safe: meant for SIGINT/SIGTERM handlers.
void request_training_stop(int signal) noexcept;

class DecisionTrainer {
 public:
  // Resolves the run and prepares it: with --resume the stored run (reading
  // the checkpoint once) with the fields a resumed run may change taken from
  // `config` where given_flags names them (all of them when given_flags is
  // empty); the env from the dataset when not given; the target return.
  // Reads the dataset, builds the model and optimiser, and writes the
  // resolved config to OUT/config.json, with `provenance` (what ran it:
  // versions, machine, command line) under "provenance" when given.
  // `given_flags`: the fields set on the command line; with --resume, one the
  // stored run keeps is refused. --resume may name a run's folder: its
  // newest checkpoint_<update>.pt. Resuming into the folder of the run it
  // continues drops that run's log rows and checkpoints past the resumed update.
  // Throws std::invalid_argument (bad input: one line naming the flag or file).
  explicit DecisionTrainer(const TrainConfig& config, const std::set<std::string>& given_flags = {},
                           const nlohmann::json& provenance = {});
  ~DecisionTrainer();
  DecisionTrainer(const DecisionTrainer&) = delete;
  DecisionTrainer& operator=(const DecisionTrainer&) = delete;

  const TrainConfig& config() const;  // as resolved: what runs and what config.json holds
  int64_t start_update() const;       // > 0 when resumed
  int rank() const;                   // data-parallel rank (0 alone writes files, evaluates and reports)

  // Trains to config().updates, evaluating and checkpointing as configured,
  // then writes OUT/checkpoint.pt and evaluates it; or, stopped by
  // request_training_stop, writes OUT/checkpoint_<update>.pt and returns.
  TrainResult run(const std::function<void(const TrainProgress&)>& progress = {});

 private:
  struct Run;
  std::unique_ptr<Run> run_;
};

// DecisionTrainer(config).run(progress).
TrainResult train_decision(const TrainConfig& config, const std::function<void(const TrainProgress&)>& progress = {});

}  // namespace aaren
