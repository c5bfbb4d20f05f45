// Ant: gym v3 semantics by default (D4RL's ant datasets were collected in Ant-v3), and Gymnasium's
// v4 (AntConfig::v4()) and v5 (AntConfig::v5()).
//
// Contact forces: gym's Ant-v3 observes clip(cfrc_ext, -1, 1) of the 14 bodies
// (84 numbers) and charges a contact cost on them, but MuJoCo >= 2.0 fills
// cfrc_ext only in mj_rnePostConstraint, which mj_step does not call: under
// mujoco-py (D4RL) those 84 numbers are always 0 and so is the cost.
// ContactForces::kZero reproduces that; kComputed calls mj_rnePostConstraint
// after every physics step (gymnasium's v4 fix).
//
// Gymnasium's v5 (AntConfig::v5(); gymnasium/envs/mujoco/ant_v5.py) computes the
// forces, observes those of the 13 bodies after the world (cfrc_ext[1:], 78
// numbers: a 105-dim observation), always charges the contact cost, and pays the
// healthy reward only while healthy.
#pragma once

#include "envs/mujoco_env.h"

namespace aaren::envs {

enum class ContactForces { kZero, kComputed };

struct AntConfig {
  double forward_reward_weight = 1.0;  // x-velocity of the torso body
  double ctrl_cost_weight = 0.5;
  double contact_cost_weight = 5e-4;  // times |clip(cfrc_ext)|^2
  double healthy_reward = 1.0;
  // Healthy when qpos, qvel are finite and the torso height qpos[2] is in [z_min, z_max].
  double healthy_z_min = 0.2, healthy_z_max = 1.0;
  double contact_force_min = -1.0, contact_force_max = 1.0;
  bool terminate_when_unhealthy = true;
  double reset_noise_scale = 0.1;  // qpos += U(-scale, scale), qvel += scale * N(0, 1)
  ContactForces contact_forces = ContactForces::kZero;
  bool contact_forces_in_observation = true;      // 111-dim observation; false: 27
  bool observe_world_contacts = true;             // v3: all 14 bodies' forces (84); v5: cfrc_ext[1:] (78)
  bool healthy_reward_only_when_healthy = false;  // v5: as Hopper-v5 (see MujocoEnv::paid_healthy_reward)
  int frame_skip = 5;                             // x 0.01 s (RK4) = 0.05 s per env step
  int64_t max_episode_steps = 1000;
  std::string model_xml;  // empty: envs/models/ant.xml

  static AntConfig v3() { return {}; }
  // gymnasium Ant-v4: contact forces computed, left out of the observation
  // (and then out of the reward, as there).
  static AntConfig v4();
  static AntConfig v5();
};

class Ant : public MujocoEnv {
 public:
  // gym v3: qpos[2:], qvel and 84 clipped contact forces; v4 leaves the forces out (27).
  static constexpr EnvSizes kSizes{111, 15, 14, 8};
  static constexpr int64_t kObsDimWithoutContacts = 27;
  static constexpr int64_t kObsDimV5 = 105;  // 27 + 13 bodies x 6
  static int64_t obs_dim_of(const AntConfig& c) {
    return kObsDimWithoutContacts + (c.contact_forces_in_observation ? (c.observe_world_contacts ? 84 : 78) : 0);
  }
  explicit Ant(AntConfig config = {});
  bool is_terminal_state() const override;
  bool is_healthy() const;
  const AntConfig& config() const { return config_; }

 protected:
  void add_reset_noise(double* qpos, double* qvel) override;
  void compute_observation(double* obs) const override;
  void capture_before() override;
  double step_reward(const double* action) override;
  void after_physics_step() override;

 private:
  double clipped_contact(int i) const;

  AntConfig config_;
  int torso_;
  double x_before_ = 0.0;
};

}  // namespace aaren::envs
