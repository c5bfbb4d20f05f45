#include "envs/swimmer.h"

namespace aaren::envs {

Swimmer::Swimmer(SwimmerConfig config)
    : MujocoEnv("swimmer", "swimmer", config.model_xml, config.frame_skip, config.max_episode_steps, kSizes.obs_dim,
                kSizes.nq, kSizes.nv, kSizes.nu),
      config_(std::move(config)) {}

void Swimmer::add_reset_noise(double* qpos, double* qvel) {
  uniform_reset_noise(qpos, qvel, config_.reset_noise_scale);
}

void Swimmer::compute_observation(double* obs) const {
  int k = 0;
  for (int i = 2; i < model_->nq; ++i) obs[k++] = data_->qpos[i];  // x, y left out
  for (int i = 0; i < model_->nv; ++i) obs[k++] = data_->qvel[i];
}

double Swimmer::step_reward(const double* action) {
  const double x_velocity = (data_->qpos[0] - x_before_) / dt();
  return config_.forward_reward_weight * x_velocity - control_cost(action, config_.ctrl_cost_weight);
}

}  // namespace aaren::envs
