// Reacher, Gymnasium's v5 semantics (gymnasium/envs/mujoco/reacher_v5.py).
#pragma once

#include "envs/mujoco_env.h"

namespace aaren::envs {

struct ReacherConfig {
  double reward_dist_weight = 1.0;      // times the fingertip's distance to the target
  double reward_control_weight = 1.0;   // times |a|^2 (reacher_v5.py's default: 1, as v4)
  double joint_noise_scale = 0.1;       // the arm's qpos += U(-scale, scale)
  double velocity_noise_scale = 0.005;  // the arm's qvel = U(-scale, scale)
  double goal_radius = 0.2;             // the target: U(-r, r)^2, drawn again until its norm < r
  int frame_skip = 2;                   // x 0.01 s (RK4) = 0.02 s per env step
  int64_t max_episode_steps = 50;
  std::string model_xml;  // empty: envs/models/reacher.xml
};

// Reward: -w_dist |fingertip - target| - w_ctrl |a|^2, after the step (v5; v4 read the
// distance before it). Never terminates; episodes are 50 steps.
class Reacher : public MujocoEnv {
 public:
  // cos q0, cos q1, sin q0, sin q1, target x, y, the arm's qvel, (fingertip - target) in x, y.
  static constexpr EnvSizes kSizes{10, 4, 4, 2};
  explicit Reacher(ReacherConfig config = {});
  bool is_terminal_state() const override { return false; }
  const ReacherConfig& config() const { return config_; }

 protected:
  void add_reset_noise(double* qpos, double* qvel) override;
  void compute_observation(double* obs) const override;
  void capture_before() override {}
  double step_reward(const double* action) override;

 private:
  // The fingertip's position minus the target's (body frames, as the last physics step left them).
  double offset(int axis) const { return data_->xpos[3 * fingertip_ + axis] - data_->xpos[3 * target_ + axis]; }
  ReacherConfig config_;
  int fingertip_, target_;
};

}  // namespace aaren::envs
