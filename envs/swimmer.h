// Swimmer, Gymnasium's v5 semantics (gymnasium/envs/mujoco/swimmer_v5.py).
#pragma once

#include "envs/mujoco_env.h"

namespace aaren::envs {

struct SwimmerConfig {
  double forward_reward_weight = 1.0;  // x-velocity of qpos[0] (the torso's slide joint)
  double ctrl_cost_weight = 1e-4;      // times |a|^2
  double reset_noise_scale = 0.1;      // qpos, qvel += U(-scale, scale)
  int frame_skip = 4;                  // x 0.01 s (RK4) = 0.04 s per env step
  int64_t max_episode_steps = 1000;
  std::string model_xml;  // empty: envs/models/swimmer.xml
};

// Never terminates; only the time limit ends an episode.
class Swimmer : public MujocoEnv {
 public:
  static constexpr EnvSizes kSizes{8, 5, 5, 2};  // qpos[2:], qvel
  explicit Swimmer(SwimmerConfig config = {});
  bool is_terminal_state() const override { return false; }
  const SwimmerConfig& config() const { return config_; }

 protected:
  void add_reset_noise(double* qpos, double* qvel) override;
  void compute_observation(double* obs) const override;
  void capture_before() override { x_before_ = data_->qpos[0]; }
  double step_reward(const double* action) override;

 private:
  SwimmerConfig config_;
  double x_before_ = 0.0;
};

}  // namespace aaren::envs
