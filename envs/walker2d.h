// Walker2d: gym v3 semantics by default (D4RL's walker2d datasets were collected
// in Walker2d-v3; Gymnasium's v4 is the same env), and Gymnasium's v5
// (Walker2dConfig::v5()).
#pragma once

#include "envs/mujoco_env.h"

namespace aaren::envs {

struct Walker2dConfig {
  double forward_reward_weight = 1.0;
  double ctrl_cost_weight = 1e-3;
  double healthy_reward = 1.0;
  // Healthy when the torso height qpos[1] is in (z_min, z_max) and its angle
  // qpos[2] in (angle_min, angle_max).
  double healthy_z_min = 0.8, healthy_z_max = 2.0;
  double healthy_angle_min = -1.0, healthy_angle_max = 1.0;
  bool terminate_when_unhealthy = true;
  double reset_noise_scale = 5e-3;  // qpos, qvel += U(-scale, scale)
  double qvel_clip = 10.0;
  int frame_skip = 4;  // x 0.002 s (RK4)
  int64_t max_episode_steps = 1000;
  // v3/v4 pay the healthy reward on every step when unhealthy states terminate;
  // Gymnasium's v5 only while healthy (gymnasium/envs/mujoco/walker2d_v5.py).
  bool healthy_reward_only_when_healthy = false;
  // The right foot's friction in the built-in model: 0.9 in gym's walker2d.xml
  // (the left's is 1.9); Gymnasium's walker2d_v5.xml gives both feet 1.9. A
  // user's --model-xml is used as it is.
  double right_foot_friction = 0.9;
  std::string model_xml;  // empty: envs/models/walker2d.xml

  static Walker2dConfig v3() { return {}; }
  static Walker2dConfig v5() {
    Walker2dConfig c;
    c.healthy_reward_only_when_healthy = true;
    c.right_foot_friction = 1.9;
    return c;
  }
};

class Walker2d : public MujocoEnv {
 public:
  static constexpr EnvSizes kSizes{17, 9, 9, 6};  // gym v3: qpos[1:], clipped qvel
  explicit Walker2d(Walker2dConfig config = {});
  bool is_terminal_state() const override;
  bool is_healthy() const;
  const Walker2dConfig& config() const { return config_; }

 protected:
  void add_reset_noise(double* qpos, double* qvel) override;
  void compute_observation(double* obs) const override { planar_observation(obs, config_.qvel_clip); }
  void capture_before() override { x_before_ = data_->qpos[0]; }
  double step_reward(const double* action) override;

 private:
  Walker2dConfig config_;
  double x_before_ = 0.0;
};

}  // namespace aaren::envs
