#include "envs/walker2d.h"

namespace aaren::envs {

namespace {
// Sets the sliding friction of the built-in model's right foot (geom foot_geom).
std::function<void(mjModel*)> right_foot_friction(double friction) {
  return [friction](mjModel* m) {
    const int geom = mj_name2id(m, mjOBJ_GEOM, "foot_geom");
    if (geom >= 0) m->geom_friction[3 * geom] = friction;
  };
}
}  // namespace

Walker2d::Walker2d(Walker2dConfig config)
    : MujocoEnv("walker2d", "walker2d", config.model_xml, config.frame_skip, config.max_episode_steps, kSizes.obs_dim,
                kSizes.nq, kSizes.nv, kSizes.nu, right_foot_friction(config.right_foot_friction)),
      config_(std::move(config)) {}

void Walker2d::add_reset_noise(double* qpos, double* qvel) {
  uniform_reset_noise(qpos, qvel, config_.reset_noise_scale);
}

bool Walker2d::is_healthy() const {
  const double z = data_->qpos[1], angle = data_->qpos[2];
  return config_.healthy_z_min < z && z < config_.healthy_z_max && config_.healthy_angle_min < angle &&
         angle < config_.healthy_angle_max;
}

bool Walker2d::is_terminal_state() const { return config_.terminate_when_unhealthy && !is_healthy(); }

double Walker2d::step_reward(const double* action) {
  return planar_walker_reward(
      x_before_, action, config_.forward_reward_weight, config_.healthy_reward,
      paid_healthy_reward(config_.healthy_reward_only_when_healthy, config_.terminate_when_unhealthy, is_healthy()),
      config_.ctrl_cost_weight);
}

}  // namespace aaren::envs
