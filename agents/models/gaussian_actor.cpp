#include "agents/models/gaussian_actor.h"

#include <cmath>

namespace aaren {

namespace {
constexpr double kActorLogStdMin = -5.0, kActorLogStdMax = 2.0;
const double kActorLog2 = std::log(2.0);
}  // namespace

GaussianActorImpl::GaussianActorImpl(int64_t obs_dim, int64_t act_dim, int64_t hidden)
    : fc1(register_module("fc1", torch::nn::Linear(obs_dim, hidden))),
      fc2(register_module("fc2", torch::nn::Linear(hidden, hidden))),
      mean_head(register_module("mean", torch::nn::Linear(hidden, act_dim))),
      log_std_head(register_module("log_std", torch::nn::Linear(hidden, act_dim))) {}

std::pair<torch::Tensor, torch::Tensor> GaussianActorImpl::forward(const torch::Tensor& obs) {
  auto h = torch::relu(fc2(torch::relu(fc1(obs))));
  auto log_std = torch::tanh(log_std_head(h));
  log_std = kActorLogStdMin + 0.5 * (kActorLogStdMax - kActorLogStdMin) * (log_std + 1);
  return {mean_head(h), log_std};
}

torch::Tensor tanh_gaussian_log_prob(const torch::Tensor& u, const torch::Tensor& mean, const torch::Tensor& log_std) {
  const auto z = (u - mean) * torch::exp(-log_std);
  const auto gaussian = -0.5 * z.pow(2) - log_std - 0.5 * std::log(2 * M_PI);
  // log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u))
  const auto squash = 2.0 * (kActorLog2 - u - torch::softplus(-2.0 * u));
  return (gaussian - squash).sum(-1);
}

std::pair<torch::Tensor, torch::Tensor> GaussianActorImpl::sample(const torch::Tensor& obs) {
  auto [mean, log_std] = forward(obs);
  const auto u = mean + torch::exp(log_std) * torch::randn_like(mean);  // reparameterised
  return {torch::tanh(u), tanh_gaussian_log_prob(u, mean, log_std)};
}

torch::Tensor GaussianActorImpl::deterministic(const torch::Tensor& obs) { return torch::tanh(forward(obs).first); }

}  // namespace aaren
