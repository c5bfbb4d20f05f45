// Soft Actor-Critic (Haarnoja et al. 2018) on LibTorch: the behaviour-policy
// trainer that makes our own D4RL-style datasets (random / medium / expert /
// replay), as D4RL made its own with SAC. Hyper-parameters follow CleanRL's
// sac_continuous_action.py.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "agents/checkpoint/policy_file.h"
#include "agents/models/gaussian_actor.h"
#include "base/config_fields.h"
#include "envs/registry.h"

namespace aaren {

struct SacConfig {
  std::string env = "halfcheetah";
  envs::EnvOptions env_options;
  int64_t steps = 300000;          // env steps (one gradient step per env step after learning_starts)
  int64_t learning_starts = 5000;  // uniform random actions before learning
  int64_t batch_size = 256;
  int64_t hidden = 256;  // 256x256 MLPs for the actor and both critics
  int64_t buffer_size = 1000000;
  double gamma = 0.99;
  double tau = 0.005;  // Polyak averaging of the target critics
  double policy_lr = 3e-4;
  double q_lr = 1e-3;
  int64_t policy_frequency = 2;  // actor (and alpha) updated this many times every this many steps
  double alpha = 0.2;            // entropy weight (initial when autotuned)
  bool autotune = true;          // tune alpha towards entropy -act_dim
  int64_t eval_every = 10000;    // evaluation every N steps (0: never)
  int64_t eval_episodes = 5;
  // Evaluate with actions sampled from the policy's Gaussian, as `aaren collect`
  // samples them for a dataset, instead of its mean (tanh of the mean). D4RL's
  // medium datasets are sampled from the stopped policy, so it is the sampled
  // mean that has to match D4RL's dataset statistics.
  bool eval_sampled = false;
  std::vector<int64_t> checkpoint_steps;   // save the policy at these steps
  std::vector<double> checkpoint_returns;  // ... and when the evaluation return first reaches these
  // Stop once an evaluation's mean return reaches this (infinity: run all steps).
  // "Reaches R within N steps" is then answered by a run that ends early.
  double stop_at_return = std::numeric_limits<double>::infinity();
  uint64_t seed = 1;
  int threads = 1;
  std::string out_dir;       // log.csv, eval.csv, policy_*.pt, config.json
  std::string dump_replay;   // write the replay buffer here in the D4RL layout (empty: no)
  std::string command_line;  // recorded in the replay file's metadata
  // What runs it (apps/provenance.h's record), kept in OUT/config.json as
  // "provenance": a new run's, or on resume the run's first start with this
  // process appended under "resumes" (base/run_history.h). Null: none written.
  nlohmann::json provenance;
  // Save the training state (networks, optimisers, alpha, generators, logs'
  // position, and every action taken since step 1 instead of the replay
  // buffer: a resume steps a freshly seeded env with them to rebuild it, and
  // checks its SHA-256) to out_dir/resume.pt at the first episode end after
  // every N steps (0: never); `resume` (the run's folder, out_dir) continues
  // from it, giving the same numbers as a run that was never stopped. A state
  // is 4 bytes x act_dim per step taken plus the networks (about 15 MB for
  // Hopper at 1M steps; the buffer would be about 200 MB), so a run can be
  // parked in the repository and continued on another machine.
  int64_t state_every = 0;
  std::string resume;

  // Every field but command_line and provenance: flag, JSON key and help (the command line
  // and OUT/config.json both come from it).
  static const std::vector<base::ConfigField<SacConfig>>& fields();

  void validate() const;  // throws std::invalid_argument naming the field
  // OUT/config.json: every field (stop_at_return: null when it is infinite).
  nlohmann::json to_json() const;
};

// Two Q networks run as one batched ensemble (one bmm per layer instead of
// two matmuls): (obs [B, O], act [B, A]) -> [2, B].
class TwinQImpl : public torch::nn::Module {
 public:
  TwinQImpl(int64_t obs_dim, int64_t act_dim, int64_t hidden);
  torch::Tensor forward(const torch::Tensor& obs, const torch::Tensor& act);

 private:
  torch::Tensor w1, b1, w2, b2, w3, b3;  // [2, in, out], [2, 1, out]
};
TORCH_MODULE(TwinQ);

// Entropy-temperature loss: -alpha (log pi + target_entropy), alpha = exp(log_alpha);
// its gradient raises alpha when the policy's entropy (-log pi) is below the target.
torch::Tensor alpha_loss(const torch::Tensor& log_alpha, const torch::Tensor& log_prob, double target_entropy);

// The critics' target (Haarnoja et al. 2018, clipped double Q of Fujimoto et al. 2018):
// y = r + gamma (1 - terminated) (min_k Q'_k(s', a') - alpha log pi(a'|s')), a' ~ pi(s').
// A truncated (time-limit) step is not terminated: its value is bootstrapped.
// next_q: [2, B] from the two target critics; the others [B].
torch::Tensor soft_q_target(const torch::Tensor& reward, const torch::Tensor& terminated, const torch::Tensor& next_q,
                            const torch::Tensor& next_log_prob, double alpha, double gamma);

// target <- tau * source + (1 - tau) * target, parameter by parameter.
void polyak_update(torch::nn::Module& target, const torch::nn::Module& source, double tau);

struct SacProgress {
  int64_t step = 0, episodes = 0;
  double last_return = 0, recent_mean_return = 0, alpha = 0, q_loss = 0, actor_loss = 0;
  double steps_per_second = 0, eta_seconds = 0;
  double eval_return = 0;  // latest evaluation (NaN before the first)
};

struct SacResult {
  std::vector<int64_t> eval_steps;
  std::vector<double> eval_returns;
  std::vector<std::string> checkpoints;
  int64_t steps_done = 0;  // env steps taken (< steps when stopped at --stop-at-return)
  bool stopped_early = false;
  double seconds = 0;
};

// Trains; writes the logs, checkpoints and (optionally) the replay buffer.
SacResult train_sac(const SacConfig& config, const std::function<void(const SacProgress&)>& progress = {});

}  // namespace aaren
