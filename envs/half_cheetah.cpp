#include "envs/half_cheetah.h"

namespace aaren::envs {

HalfCheetah::HalfCheetah(HalfCheetahConfig config)
    : MujocoEnv("halfcheetah", "half_cheetah", config.model_xml, config.frame_skip, config.max_episode_steps,
                kSizes.obs_dim, kSizes.nq, kSizes.nv, kSizes.nu),
      config_(std::move(config)) {}

void HalfCheetah::add_reset_noise(double* qpos, double* qvel) {
  uniform_normal_reset_noise(qpos, qvel, config_.reset_noise_scale);
}

double HalfCheetah::step_reward(const double* action) {
  const double x_velocity = (data_->qpos[0] - x_before_) / dt();
  return config_.forward_reward_weight * x_velocity - control_cost(action, config_.ctrl_cost_weight);
}

}  // namespace aaren::envs
