// Humanoid, Gymnasium's v5 semantics (gymnasium/envs/mujoco/humanoid_v5.py).
#pragma once

#include <limits>

#include "envs/mujoco_env.h"

namespace aaren::envs {

struct HumanoidConfig {
  double forward_reward_weight = 1.25;              // x-velocity of the mass centre
  double ctrl_cost_weight = 0.1;                    // times |a|^2
  double contact_cost_weight = 5e-7;                // times |cfrc_ext|^2 ...
  double contact_cost_max = 10.0;                   // ... capped at this
  double healthy_reward = 5.0;                      // paid only while healthy (v5)
  double healthy_z_min = 1.0, healthy_z_max = 2.0;  // healthy when z_min < qpos[2] < z_max (strict)
  bool terminate_when_unhealthy = true;
  double reset_noise_scale = 1e-2;  // qpos, qvel += U(-scale, scale)
  int frame_skip = 5;               // x 0.003 s (RK4) = 0.015 s per env step
  int64_t max_episode_steps = 1000;
  std::string model_xml;  // empty: envs/models/humanoid.xml
};

// Observation (348): qpos[2:] (22), qvel (23), then for the 13 bodies after the
// world cinert (130), cvel (78), the hinges' qfrc_actuator (17) and cfrc_ext (78),
// as MuJoCo's last physics step left them (contact forces by mj_rnePostConstraint).
class Humanoid : public MujocoEnv {
 public:
  static constexpr EnvSizes kSizes{348, 24, 23, 17};
  explicit Humanoid(HumanoidConfig config = {});
  bool is_terminal_state() const override { return config_.terminate_when_unhealthy && !is_healthy(); }
  bool is_healthy() const;
  const HumanoidConfig& config() const { return config_; }
  // The x of the mass centre: sum of body_mass * xipos over the bodies, over the total mass.
  double mass_centre_x() const;

 protected:
  void add_reset_noise(double* qpos, double* qvel) override;
  void compute_observation(double* obs) const override;
  void capture_before() override { x_before_ = mass_centre_x(); }
  double step_reward(const double* action) override;
  void after_physics_step() override { mj_rnePostConstraint(model_.get(), data_.get()); }

 private:
  HumanoidConfig config_;
  double x_before_ = 0.0;
};

}  // namespace aaren::envs
