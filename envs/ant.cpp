#include "envs/ant.h"

#include <algorithm>
#include <cmath>

namespace aaren::envs {

AntConfig AntConfig::v4() {
  AntConfig c;
  c.contact_forces = ContactForces::kComputed;
  c.contact_forces_in_observation = false;
  return c;
}

AntConfig AntConfig::v5() {
  AntConfig c;
  c.contact_forces = ContactForces::kComputed;
  c.observe_world_contacts = false;
  c.healthy_reward_only_when_healthy = true;
  return c;
}

Ant::Ant(AntConfig config)
    : MujocoEnv("ant", "ant", config.model_xml, config.frame_skip, config.max_episode_steps, obs_dim_of(config),
                kSizes.nq, kSizes.nv, kSizes.nu),
      config_(std::move(config)),
      torso_(body_id("torso")) {
  if (model_->nbody != 14)
    throw EnvError("ant: the model must have 14 bodies (world included), got " + std::to_string(model_->nbody));
}

void Ant::add_reset_noise(double* qpos, double* qvel) {
  uniform_normal_reset_noise(qpos, qvel, config_.reset_noise_scale);
}

double Ant::clipped_contact(int i) const {
  return std::clamp(data_->cfrc_ext[i], config_.contact_force_min, config_.contact_force_max);
}

void Ant::compute_observation(double* obs) const {
  int k = 0;
  for (int i = 2; i < model_->nq; ++i) obs[k++] = data_->qpos[i];  // x, y excluded
  for (int i = 0; i < model_->nv; ++i) obs[k++] = data_->qvel[i];
  if (config_.contact_forces_in_observation)
    for (int i = config_.observe_world_contacts ? 0 : 6; i < 6 * model_->nbody; ++i) obs[k++] = clipped_contact(i);
}

void Ant::after_physics_step() {
  if (config_.contact_forces == ContactForces::kComputed) mj_rnePostConstraint(model_.get(), data_.get());
}

// gym reads the torso's body position (xpos) as mujoco-py leaves it after
// mj_step, i.e. from the kinematics at the start of the last physics step;
// reading data->xpos here without an extra mj_forward keeps that meaning.
void Ant::capture_before() { x_before_ = data_->xpos[3 * torso_]; }

bool Ant::is_healthy() const {
  for (int i = 0; i < model_->nq; ++i)
    if (!std::isfinite(data_->qpos[i])) return false;
  for (int i = 0; i < model_->nv; ++i)
    if (!std::isfinite(data_->qvel[i])) return false;
  const double z = data_->qpos[2];
  return config_.healthy_z_min <= z && z <= config_.healthy_z_max;
}

bool Ant::is_terminal_state() const { return config_.terminate_when_unhealthy && !is_healthy(); }

double Ant::step_reward(const double* action) {
  const double x_velocity = (data_->xpos[3 * torso_] - x_before_) / dt();
  const double healthy =
      paid_healthy_reward(config_.healthy_reward_only_when_healthy, config_.terminate_when_unhealthy, is_healthy())
          ? config_.healthy_reward
          : 0.0;
  // Every body's row is charged, the world's included, as gym and Gymnasium
  // sum the whole clipped cfrc_ext (v5 observes only cfrc_ext[1:]).
  double contact_cost = 0.0;
  const bool charge_contacts = config_.contact_forces == ContactForces::kZero || config_.contact_forces_in_observation;
  if (charge_contacts) {
    for (int i = 0; i < 6 * model_->nbody; ++i) contact_cost += clipped_contact(i) * clipped_contact(i);
    contact_cost *= config_.contact_cost_weight;
  }
  return config_.forward_reward_weight * x_velocity + healthy - control_cost(action, config_.ctrl_cost_weight) -
         contact_cost;
}

}  // namespace aaren::envs
