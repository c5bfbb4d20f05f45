#include "envs/inverted_double_pendulum.h"

#include <algorithm>
#include <cmath>

namespace aaren::envs {

InvertedDoublePendulum::InvertedDoublePendulum(InvertedDoublePendulumConfig config)
    : MujocoEnv("inverteddoublependulum", "inverted_double_pendulum", config.model_xml, config.frame_skip,
                config.max_episode_steps, kSizes.obs_dim, kSizes.nq, kSizes.nv, kSizes.nu),
      config_(std::move(config)),
      tip_(mj_name2id(model_.get(), mjOBJ_SITE, "tip")) {
  if (tip_ < 0) throw EnvError("inverteddoublependulum: the model has no site named 'tip'");
}

void InvertedDoublePendulum::add_reset_noise(double* qpos, double* qvel) {
  uniform_normal_reset_noise(qpos, qvel, config_.reset_noise_scale);
}

void InvertedDoublePendulum::compute_observation(double* obs) const {
  const double* q = data_->qpos;
  obs[0] = q[0];
  obs[1] = std::sin(q[1]), obs[2] = std::sin(q[2]);
  obs[3] = std::cos(q[1]), obs[4] = std::cos(q[2]);
  for (int i = 0; i < 3; ++i) obs[5 + i] = std::clamp(data_->qvel[i], -10.0, 10.0);
  // The slider's joint-limit force (v5 leaves out the hinges', always 0).
  obs[8] = std::clamp(data_->qfrc_constraint[0], -10.0, 10.0);
}

bool InvertedDoublePendulum::is_terminal_state() const { return tip_height() <= config_.min_tip_height; }

double InvertedDoublePendulum::step_reward(const double*) {
  const double x = data_->site_xpos[3 * tip_], z = tip_height();
  const double distance_penalty = 0.01 * x * x + (z - 2) * (z - 2);
  const double w1 = data_->qvel[1], w2 = data_->qvel[2];
  const double velocity_penalty = 1e-3 * w1 * w1 + 5e-3 * w2 * w2;
  const double alive = is_terminal_state() ? 0.0 : config_.healthy_reward;
  return alive - distance_penalty - velocity_penalty;
}

}  // namespace aaren::envs
