// HalfCheetah: gym v3 semantics, as D4RL's halfcheetah datasets were collected; Gymnasium's v4 and v5
// have the same dynamics and reward (half_cheetah_v5.py adds constructor arguments only).
#pragma once

#include "envs/mujoco_env.h"

namespace aaren::envs {

struct HalfCheetahConfig {
  double forward_reward_weight = 1.0;
  double ctrl_cost_weight = 0.1;
  double reset_noise_scale = 0.1;  // qpos += U(-scale, scale), qvel += scale * N(0, 1)
  int frame_skip = 5;              // x 0.01 s (Euler) = 0.05 s per env step
  int64_t max_episode_steps = 1000;
  std::string model_xml;  // empty: envs/models/half_cheetah.xml
};

// Never terminates; only the time limit ends an episode.
class HalfCheetah : public MujocoEnv {
 public:
  static constexpr EnvSizes kSizes{17, 9, 9, 6};  // gym v3: qpos[1:], qvel
  explicit HalfCheetah(HalfCheetahConfig config = {});
  bool is_terminal_state() const override { return false; }
  const HalfCheetahConfig& config() const { return config_; }

 protected:
  void add_reset_noise(double* qpos, double* qvel) override;
  void compute_observation(double* obs) const override { planar_observation(obs, 0.0); }
  void capture_before() override { x_before_ = data_->qpos[0]; }
  double step_reward(const double* action) override;

 private:
  HalfCheetahConfig config_;
  double x_before_ = 0.0;
};

}  // namespace aaren::envs
