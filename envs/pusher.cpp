#include "envs/pusher.h"

#include <cmath>

namespace aaren::envs {

Pusher::Pusher(PusherConfig config)
    : MujocoEnv("pusher", "pusher", config.model_xml, config.frame_skip, config.max_episode_steps, kSizes.obs_dim,
                kSizes.nq, kSizes.nv, kSizes.nu),
      config_(std::move(config)),
      tips_arm_(body_id("tips_arm")),
      object_(body_id("object")),
      goal_(body_id("goal")) {}

// Gymnasium: the arm starts at qpos0 exactly; the object's offset (qpos[7] on
// its y slide, qpos[8] on its x slide) is drawn until farther than 0.17 from
// the goal's start; the goal stays at 0; the arm's qvel is U(-0.005, 0.005).
void Pusher::add_reset_noise(double* qpos, double* qvel) {
  std::uniform_real_distribution<double> along_y(-0.3, 0.0), along_x(-0.2, 0.2);
  double y = 0, x = 0;
  do {
    y = along_y(rng()), x = along_x(rng());
  } while (std::hypot(y, x) <= config_.object_min_distance);
  qpos[7] = y, qpos[8] = x, qpos[9] = qpos[10] = 0.0;
  std::uniform_real_distribution<double> velocity(-config_.velocity_noise_scale, config_.velocity_noise_scale);
  for (int i = 0; i < 7; ++i) qvel[i] = velocity(rng());
  for (int i = 7; i < 11; ++i) qvel[i] = 0.0;
}

void Pusher::compute_observation(double* obs) const {
  int k = 0;
  for (int i = 0; i < 7; ++i) obs[k++] = data_->qpos[i];
  for (int i = 0; i < 7; ++i) obs[k++] = data_->qvel[i];
  for (int body : {tips_arm_, object_, goal_})
    for (int a = 0; a < 3; ++a) obs[k++] = data_->xpos[3 * body + a];
}

double Pusher::distance(int a, int b) const {
  double s = 0;
  for (int i = 0; i < 3; ++i) s += std::pow(data_->xpos[3 * a + i] - data_->xpos[3 * b + i], 2);
  return std::sqrt(s);
}

double Pusher::step_reward(const double* action) {
  return -config_.reward_near_weight * distance(object_, tips_arm_) -
         config_.reward_dist_weight * distance(object_, goal_) - control_cost(action, config_.reward_control_weight);
}

}  // namespace aaren::envs
