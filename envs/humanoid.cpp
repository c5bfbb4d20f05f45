#include "envs/humanoid.h"

#include <algorithm>

namespace aaren::envs {

Humanoid::Humanoid(HumanoidConfig config)
    : MujocoEnv("humanoid", "humanoid", config.model_xml, config.frame_skip, config.max_episode_steps, kSizes.obs_dim,
                kSizes.nq, kSizes.nv, kSizes.nu),
      config_(std::move(config)) {
  if (model_->nbody != 14)
    throw EnvError("humanoid: the model must have 14 bodies (world included), got " + std::to_string(model_->nbody));
}

void Humanoid::add_reset_noise(double* qpos, double* qvel) {
  uniform_reset_noise(qpos, qvel, config_.reset_noise_scale);
}

bool Humanoid::is_healthy() const {
  const double z = data_->qpos[2];
  return config_.healthy_z_min < z && z < config_.healthy_z_max;
}

double Humanoid::mass_centre_x() const {
  double weighted = 0, total = 0;
  for (int b = 0; b < model_->nbody; ++b) {
    weighted += model_->body_mass[b] * data_->xipos[3 * b];
    total += model_->body_mass[b];
  }
  return weighted / total;
}

void Humanoid::compute_observation(double* obs) const {
  const mjData* d = data_.get();
  const int bodies = model_->nbody;
  double* o = obs;
  o = std::copy(d->qpos + 2, d->qpos + model_->nq, o);  // x, y left out
  o = std::copy(d->qvel, d->qvel + model_->nv, o);
  o = std::copy(d->cinert + 10, d->cinert + 10 * bodies, o);  // the world's row left out, as below
  o = std::copy(d->cvel + 6, d->cvel + 6 * bodies, o);
  o = std::copy(d->qfrc_actuator + 6, d->qfrc_actuator + model_->nv, o);  // the free joint's 6 left out
  std::copy(d->cfrc_ext + 6, d->cfrc_ext + 6 * bodies, o);
}

double Humanoid::step_reward(const double* action) {
  const double x_velocity = (mass_centre_x() - x_before_) / dt();
  double contact = 0;
  for (int i = 0; i < 6 * model_->nbody; ++i) contact += data_->cfrc_ext[i] * data_->cfrc_ext[i];
  const double contact_cost = std::min(config_.contact_cost_weight * contact, config_.contact_cost_max);
  const double healthy = is_healthy() ? config_.healthy_reward : 0.0;
  return config_.forward_reward_weight * x_velocity + healthy - control_cost(action, config_.ctrl_cost_weight) -
         contact_cost;
}

}  // namespace aaren::envs
