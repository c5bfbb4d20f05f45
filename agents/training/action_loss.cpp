#include "agents/training/action_loss.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "agents/models/device.h"

namespace aaren {

torch::Tensor masked_mse_sum(const torch::Tensor& pred_in, const torch::Tensor& target, const torch::Tensor& mask) {
  const auto pred = pred_in.to(torch::kFloat);
  return ((pred - target).pow(2) * mask.unsqueeze(-1).to(pred.scalar_type())).sum();
}

namespace {

// Squared-error sums y_i and counts x_i (real steps x action dims) of the
// batches -> the mean over every step, R = sum y / sum x, and its standard
// error as a ratio estimator's (the linearisation used for cluster samples,
// Cochran 1977, "Sampling Techniques", 6.9): s.e.(R)^2 = sum (y_i - R x_i)^2 /
// (n (n - 1) xbar^2), so that batches of unequal sizes weigh as their steps do.
ActionLoss summarise(const std::string& regime, const std::vector<double>& sse, const std::vector<int64_t>& counts,
                     int64_t act_dim) {
  ActionLoss out;
  out.regime = regime;
  out.batches = static_cast<int64_t>(sse.size());
  const double total = std::accumulate(sse.begin(), sse.end(), 0.0);
  const int64_t n = std::accumulate(counts.begin(), counts.end(), int64_t{0});
  out.steps = n / act_dim;
  out.mse = n > 0 ? total / static_cast<double>(n) : 0.0;
  if (out.batches > 1) {
    const double batches = static_cast<double>(out.batches), mean_count = static_cast<double>(n) / batches;
    double sq = 0;
    for (size_t i = 0; i < sse.size(); ++i) sq += std::pow(sse[i] - out.mse * static_cast<double>(counts[i]), 2);
    out.std_error = std::sqrt(sq / (batches * (batches - 1))) / mean_count;
  }
  return out;
}

data::BatchOptions batch_options(const TrainConfig& c) {
  data::BatchOptions options;
  options.return_scale = c.return_scale;
  options.max_timestep = c.max_ep_len;
  return options;
}

ActionLoss windows_loss(DecisionPolicy& model, const LoadedAgent& agent, const data::TrajectoryDataset& data,
                        int64_t batches, uint64_t seed) {
  const auto& c = agent.config;
  data::WindowSampler sampler(data, c.context, batch_options(c), seed);
  std::vector<double> sse;
  std::vector<int64_t> counts;
  for (int64_t b = 0; b < batches; ++b) {
    const auto batch = sampler.sample(c.batch_size);
    const auto pred = model->forward(batch.states, batch.actions, batch.returns_to_go, batch.timesteps, batch.mask);
    sse.push_back(masked_mse_sum(pred, batch.actions, batch.mask).item<double>());
    counts.push_back(batch.mask.sum().item<int64_t>() * data.act_dim());
  }
  return summarise("windows", sse, counts, data.act_dim());
}

// The whole-episode pass of training (agents/training/decision_trainer.cpp's
// episode regime) without its backward: chunks of chunk_steps, the state and,
// for the fused layout, the previous action carried across chunk boundaries.
ActionLoss episodes_loss(DecisionPolicy& model, const LoadedAgent& agent, const data::TrajectoryDataset& data) {
  const auto& c = agent.config;
  data::EpisodeSampler sampler(data, batch_options(c), 0);
  std::vector<double> sse;
  std::vector<int64_t> counts;
  for (int64_t first = 0; first < data.num_episodes(); first += c.aaren_batch) {
    std::vector<int64_t> indices(std::min<int64_t>(c.aaren_batch, data.num_episodes() - first));
    std::iota(indices.begin(), indices.end(), first);
    const auto batch = sampler.episodes(indices);
    double sum = 0;
    for_each_episode_chunk(model, batch, c.chunk_steps, torch::kCPU, false,
                           [&](const torch::Tensor& chunk_sse) { sum += chunk_sse.item<double>(); });
    sse.push_back(sum);
    counts.push_back(batch.mask.sum().item<int64_t>() * data.act_dim());
  }
  return summarise("episodes", sse, counts, data.act_dim());
}

}  // namespace

void for_each_episode_chunk(DecisionPolicy& model, const data::SequenceBatch& batch, int64_t chunk_steps,
                            const torch::Device& device, bool bf16,
                            const std::function<void(const torch::Tensor& chunk_sse)>& on_chunk) {
  auto state = model->initial_state(batch.batch());
  torch::Tensor previous_action;  // fused layout: a_{t-1} across chunk boundaries (none at the episode start)
  for (const auto& chunk : data::EpisodeSampler::chunks(batch, chunk_steps)) {
    if (!chunk.mask.any().item<bool>()) break;  // only padding left
    torch::Tensor pred;
    {
      const AutocastScope amp(bf16, device);
      pred = model->forward(chunk.states, chunk.actions, chunk.returns_to_go, chunk.timesteps, chunk.mask, &state,
                            previous_action);
    }
    previous_action = chunk.actions.select(1, chunk.length() - 1);
    on_chunk(masked_mse_sum(pred, chunk.actions, chunk.mask));
    state.detach_();
  }
}

ActionLoss action_loss(const LoadedAgent& agent, const data::TrajectoryDataset& data, int64_t batches, uint64_t seed) {
  const auto& m = agent.model->config();
  if (data.obs_dim() != m.state_dim || data.act_dim() != m.act_dim)
    throw std::invalid_argument("the data's states and actions have " + std::to_string(data.obs_dim()) + " and " +
                                std::to_string(data.act_dim()) + " dims; the agent's " + std::to_string(m.state_dim) +
                                " and " + std::to_string(m.act_dim));
  torch::NoGradGuard no_grad;
  DecisionPolicy model = agent.model;
  // Dropout off while measuring; the module's mode as it was afterwards, even on an error.
  struct EvalMode {
    DecisionPolicy model;
    bool was_training;
    ~EvalMode() { model->train(was_training); }
  } eval_mode{model, model->is_training()};
  model->eval();
  const auto loss = agent.config.trains_on_episodes() ? episodes_loss(model, agent, data)
                                                      : windows_loss(model, agent, data, batches, seed);
  // A checkpoint's weights are finite (load_checkpoint refuses others), so an error that is
  // not comes from the data: values too large for float arithmetic (a reward of 1e30).
  if (!std::isfinite(loss.mse))
    throw std::invalid_argument("the action error is " + std::string(std::isnan(loss.mse) ? "NaN" : "inf") +
                                ": the data hold values too large for float arithmetic");
  return loss;
}

}  // namespace aaren
