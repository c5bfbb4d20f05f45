#include "envs/hopper.h"

namespace aaren::envs {

Hopper::Hopper(HopperConfig config)
    : MujocoEnv("hopper", "hopper", config.model_xml, config.frame_skip, config.max_episode_steps, kSizes.obs_dim,
                kSizes.nq, kSizes.nv, kSizes.nu),
      config_(std::move(config)) {}

void Hopper::add_reset_noise(double* qpos, double* qvel) { uniform_reset_noise(qpos, qvel, config_.reset_noise_scale); }

bool Hopper::is_healthy() const {
  const double* qpos = data_->qpos;
  const double* qvel = data_->qvel;
  auto inside = [&](double x) { return config_.healthy_state_min < x && x < config_.healthy_state_max; };
  for (int i = 2; i < model_->nq; ++i)
    if (!inside(qpos[i])) return false;
  for (int i = 0; i < model_->nv; ++i)
    if (!inside(qvel[i])) return false;
  const double z = qpos[1], angle = qpos[2];
  return config_.healthy_z_min < z && z < config_.healthy_z_max && config_.healthy_angle_min < angle &&
         angle < config_.healthy_angle_max;
}

bool Hopper::is_terminal_state() const { return config_.terminate_when_unhealthy && !is_healthy(); }

double Hopper::step_reward(const double* action) {
  return planar_walker_reward(
      x_before_, action, config_.forward_reward_weight, config_.healthy_reward,
      paid_healthy_reward(config_.healthy_reward_only_when_healthy, config_.terminate_when_unhealthy, is_healthy()),
      config_.ctrl_cost_weight);
}

}  // namespace aaren::envs
