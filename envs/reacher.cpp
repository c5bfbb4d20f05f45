#include "envs/reacher.h"

#include <cmath>

namespace aaren::envs {

Reacher::Reacher(ReacherConfig config)
    : MujocoEnv("reacher", "reacher", config.model_xml, config.frame_skip, config.max_episode_steps, kSizes.obs_dim,
                kSizes.nq, kSizes.nv, kSizes.nu),
      config_(std::move(config)),
      fingertip_(body_id("fingertip")),
      target_(body_id("target")) {}

// Gymnasium: qpos = qpos0 + U(-0.1, 0.1) for all four, then the target's two
// replaced by a goal drawn in the square until inside the disc; qvel =
// U(-0.005, 0.005) for the arm, 0 for the target.
void Reacher::add_reset_noise(double* qpos, double* qvel) {
  uniform_reset_noise(qpos, qvel, config_.joint_noise_scale);  // qvel redrawn below
  std::uniform_real_distribution<double> goal(-config_.goal_radius, config_.goal_radius);
  double gx = 0, gy = 0;
  do {
    gx = goal(rng()), gy = goal(rng());
  } while (std::hypot(gx, gy) >= config_.goal_radius);
  qpos[2] = gx, qpos[3] = gy;
  std::uniform_real_distribution<double> velocity(-config_.velocity_noise_scale, config_.velocity_noise_scale);
  qvel[0] = velocity(rng()), qvel[1] = velocity(rng());
  qvel[2] = qvel[3] = 0.0;
}

void Reacher::compute_observation(double* obs) const {
  const double* q = data_->qpos;
  obs[0] = std::cos(q[0]), obs[1] = std::cos(q[1]), obs[2] = std::sin(q[0]), obs[3] = std::sin(q[1]);
  obs[4] = q[2], obs[5] = q[3];
  obs[6] = data_->qvel[0], obs[7] = data_->qvel[1];
  obs[8] = offset(0), obs[9] = offset(1);
}

double Reacher::step_reward(const double* action) {
  const double distance = std::sqrt(offset(0) * offset(0) + offset(1) * offset(1) + offset(2) * offset(2));
  return -config_.reward_dist_weight * distance - control_cost(action, config_.reward_control_weight);
}

}  // namespace aaren::envs
