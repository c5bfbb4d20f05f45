// Pusher, Gymnasium's v5 semantics (gymnasium/envs/mujoco/pusher_v5.py, assets/pusher_v5.xml).
#pragma once

#include "envs/mujoco_env.h"

namespace aaren::envs {

struct PusherConfig {
  double reward_near_weight = 0.5;      // times |object - tips_arm|
  double reward_dist_weight = 1.0;      // times |object - goal|
  double reward_control_weight = 0.1;   // times |a|^2
  double object_min_distance = 0.17;    // the object's start offset (y in U(-0.3, 0), x in U(-0.2, 0.2)) exceeds this
  double velocity_noise_scale = 0.005;  // the arm's qvel = U(-scale, scale); its qpos starts at 0 exactly
  int frame_skip = 5;                   // x 0.01 s (Euler) = 0.05 s per env step
  int64_t max_episode_steps = 100;
  std::string model_xml;  // empty: envs/models/pusher.xml
};

// Reward after the step (v5; v4 read the distances before it):
// -0.5 |object - tips_arm| - |object - goal| - 0.1 |a|^2, with body positions as
// MuJoCo's last physics step left them. Never terminates; episodes are 100 steps.
class Pusher : public MujocoEnv {
 public:
  // the arm's qpos and qvel, then tips_arm's, the object's and the goal's positions.
  static constexpr EnvSizes kSizes{23, 11, 11, 7};
  explicit Pusher(PusherConfig config = {});
  bool is_terminal_state() const override { return false; }
  const PusherConfig& config() const { return config_; }

 protected:
  void add_reset_noise(double* qpos, double* qvel) override;
  void compute_observation(double* obs) const override;
  void capture_before() override {}
  double step_reward(const double* action) override;

 private:
  double distance(int a, int b) const;
  PusherConfig config_;
  int tips_arm_, object_, goal_;
};

}  // namespace aaren::envs
