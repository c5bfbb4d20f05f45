// Hopper: gym v3 semantics by default (D4RL's hopper datasets were collected in
// Hopper-v3; Gymnasium's v4 is the same env on the new bindings), and
// Gymnasium's v5 (HopperConfig::v5()).
#pragma once

#include <limits>

#include "envs/mujoco_env.h"

namespace aaren::envs {

struct HopperConfig {
  double forward_reward_weight = 1.0;  // x-velocity of the torso
  double ctrl_cost_weight = 1e-3;      // times |a|^2
  double healthy_reward = 1.0;         // per step while healthy
  // Healthy when every qpos[2:], qvel is in (state_min, state_max), the torso
  // height qpos[1] in (z_min, z_max) and its angle qpos[2] in (angle_min, angle_max).
  double healthy_state_min = -100.0, healthy_state_max = 100.0;
  double healthy_z_min = 0.7, healthy_z_max = std::numeric_limits<double>::infinity();
  double healthy_angle_min = -0.2, healthy_angle_max = 0.2;
  bool terminate_when_unhealthy = true;
  double reset_noise_scale = 5e-3;  // qpos, qvel += U(-scale, scale)
  double qvel_clip = 10.0;          // observed velocities clipped to +-qvel_clip
  int frame_skip = 4;               // x 0.002 s (RK4) = 0.008 s per env step
  int64_t max_episode_steps = 1000;
  // v3/v4 pay the healthy reward on every step when unhealthy states terminate
  // (so also on the step that falls); Gymnasium's v5 only while healthy
  // (gymnasium/envs/mujoco/hopper_v5.py, its version history).
  bool healthy_reward_only_when_healthy = false;
  std::string model_xml;  // empty: the built-in envs/models/hopper.xml

  static HopperConfig v3() { return {}; }
  static HopperConfig v5() {
    HopperConfig c;
    c.healthy_reward_only_when_healthy = true;
    return c;
  }
};

class Hopper : public MujocoEnv {
 public:
  static constexpr EnvSizes kSizes{11, 6, 6, 3};  // gym v3: qpos[1:], clipped qvel
  explicit Hopper(HopperConfig config = {});
  bool is_terminal_state() const override;
  bool is_healthy() const;
  const HopperConfig& config() const { return config_; }

 protected:
  void add_reset_noise(double* qpos, double* qvel) override;
  void compute_observation(double* obs) const override { planar_observation(obs, config_.qvel_clip); }
  void capture_before() override { x_before_ = data_->qpos[0]; }
  double step_reward(const double* action) override;

 private:
  HopperConfig config_;
  double x_before_ = 0.0;
};

}  // namespace aaren::envs
