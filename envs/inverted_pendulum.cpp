#include "envs/inverted_pendulum.h"

#include <algorithm>
#include <cmath>

namespace aaren::envs {

InvertedPendulum::InvertedPendulum(InvertedPendulumConfig config)
    : MujocoEnv("invertedpendulum", "inverted_pendulum", config.model_xml, config.frame_skip, config.max_episode_steps,
                kSizes.obs_dim, kSizes.nq, kSizes.nv, kSizes.nu),
      config_(std::move(config)) {}

void InvertedPendulum::add_reset_noise(double* qpos, double* qvel) {
  uniform_reset_noise(qpos, qvel, config_.reset_noise_scale);
}

void InvertedPendulum::compute_observation(double* obs) const {
  obs[0] = data_->qpos[0], obs[1] = data_->qpos[1], obs[2] = data_->qvel[0], obs[3] = data_->qvel[1];
}

// Gymnasium: terminated = not all(isfinite(obs)) or |qpos[1]| > 0.2; the observation is qpos, qvel.
bool InvertedPendulum::is_terminal_state() const {
  for (int i = 0; i < 2; ++i)
    if (!std::isfinite(data_->qpos[i]) || !std::isfinite(data_->qvel[i])) return true;
  return std::abs(data_->qpos[1]) > config_.healthy_angle;
}

}  // namespace aaren::envs
