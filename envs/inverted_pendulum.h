// InvertedPendulum, Gymnasium's v5 semantics (gymnasium/envs/mujoco/inverted_pendulum_v5.py).
#pragma once

#include "envs/mujoco_env.h"

namespace aaren::envs {

struct InvertedPendulumConfig {
  double healthy_angle = 0.2;       // terminates when |qpos[1]| > this (or a non-finite state)
  double reset_noise_scale = 0.01;  // qpos, qvel += U(-scale, scale)
  int frame_skip = 2;               // x 0.02 s (RK4) = 0.04 s per env step
  int64_t max_episode_steps = 1000;
  std::string model_xml;  // empty: envs/models/inverted_pendulum.xml
};

// Reward 1 per step while the pole is up, 0 on the step that ends the episode
// (v5; v4 paid 1 on that step too). Actions in [-3, 3] (the motor's control range).
class InvertedPendulum : public MujocoEnv {
 public:
  static constexpr EnvSizes kSizes{4, 2, 2, 1};  // qpos (cart, pole), qvel
  explicit InvertedPendulum(InvertedPendulumConfig config = {});
  bool is_terminal_state() const override;
  const InvertedPendulumConfig& config() const { return config_; }

 protected:
  void add_reset_noise(double* qpos, double* qvel) override;
  void compute_observation(double* obs) const override;
  void capture_before() override {}
  double step_reward(const double*) override { return is_terminal_state() ? 0.0 : 1.0; }

 private:
  InvertedPendulumConfig config_;
};

}  // namespace aaren::envs
