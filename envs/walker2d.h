// Walker2d (gym v3 semantics, as D4RL's walker2d datasets were collected).
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
  int frame_skip = 4;               // x 0.002 s (RK4)
  int64_t max_episode_steps = 1000;
  std::string model_xml;            // empty: envs/models/walker2d.xml
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
