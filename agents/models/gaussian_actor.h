// SAC's actor (Haarnoja et al. 2018): a tanh-squashed Gaussian policy, as
// CleanRL's sac_continuous_action.py builds it. The behaviour policies of the
// matched datasets are these actors, loaded from policy files
// (agents/checkpoint/policy_file.h).
#pragma once

#include <torch/torch.h>

#include <utility>

namespace aaren {

// Tanh-squashed Gaussian policy: obs -> hidden -> hidden -> (mean, log_std).
class GaussianActorImpl : public torch::nn::Module {
 public:
  GaussianActorImpl(int64_t obs_dim, int64_t act_dim, int64_t hidden);
  // obs [B, obs_dim] -> (action [B, act_dim] in (-1, 1), log-prob [B]).
  // log pi(a) = log N(u; mean, std) - sum log(1 - tanh(u)^2), the second term
  // computed as 2 (log 2 - u - softplus(-2u)) so it stays finite for large |u|.
  std::pair<torch::Tensor, torch::Tensor> sample(const torch::Tensor& obs);
  torch::Tensor deterministic(const torch::Tensor& obs);  // tanh(mean)
  // (mean, log_std), log_std squashed into [-5, 2].
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& obs);

 private:
  torch::nn::Linear fc1{nullptr}, fc2{nullptr}, mean_head{nullptr}, log_std_head{nullptr};
};
TORCH_MODULE(GaussianActor);

// log-probability of tanh-squashed Gaussian samples, exposed for tests:
// u [B, A] pre-tanh sample, mean/log_std [B, A] -> [B].
torch::Tensor tanh_gaussian_log_prob(const torch::Tensor& u, const torch::Tensor& mean, const torch::Tensor& log_std);

}  // namespace aaren
