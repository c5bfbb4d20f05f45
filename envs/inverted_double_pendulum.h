// InvertedDoublePendulum, Gymnasium's v5 semantics
// (gymnasium/envs/mujoco/inverted_double_pendulum_v5.py).
#pragma once

#include "envs/mujoco_env.h"

namespace aaren::envs {

struct InvertedDoublePendulumConfig {
  double healthy_reward = 10.0;    // paid while the tip is above min_tip_height
  double min_tip_height = 1.0;     // terminates when the tip's z <= this
  double reset_noise_scale = 0.1;  // qpos += U(-scale, scale), qvel += scale N(0, 1)
  int frame_skip = 5;              // x 0.01 s (RK4) = 0.05 s per env step
  int64_t max_episode_steps = 1000;
  std::string model_xml;  // empty: envs/models/inverted_double_pendulum.xml
};

// Reward: healthy_reward (while not terminated) - (0.01 x_tip^2 + (z_tip - 2)^2) - (1e-3 w1^2 + 5e-3 w2^2),
// with the tip's position as MuJoCo's last physics step left it (site_xpos, not recomputed, as in
// Gymnasium) and the hinges' unclipped angular velocities w1, w2.
class InvertedDoublePendulum : public MujocoEnv {
 public:
  // qpos[0], sin and cos of both hinges, clipped qvel, the slider's clipped constraint force.
  static constexpr EnvSizes kSizes{9, 3, 3, 1};
  explicit InvertedDoublePendulum(InvertedDoublePendulumConfig config = {});
  bool is_terminal_state() const override;
  const InvertedDoublePendulumConfig& config() const { return config_; }

 protected:
  void add_reset_noise(double* qpos, double* qvel) override;
  void compute_observation(double* obs) const override;
  void capture_before() override {}
  double step_reward(const double* action) override;

 private:
  double tip_height() const { return data_->site_xpos[3 * tip_ + 2]; }
  InvertedDoublePendulumConfig config_;
  int tip_;
};

}  // namespace aaren::envs
