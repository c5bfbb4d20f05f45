// The shared base of the MuJoCo environments: owns mjModel/mjData (RAII),
// loads the built-in model or a user's MJCF file, steps the physics with a
// frame skip, applies reset noise, tracks the time limit and MuJoCo's
// instability warnings. Each robot adds its observation, reward and
// termination rules.
#pragma once

#include <mujoco/mujoco.h>

#include <functional>
#include <memory>
#include <random>
#include <string>

#include "envs/env.h"

namespace aaren::envs {

// An env's sizes: observation length, and the model's qpos, qvel and
// actuator counts (checked against the MJCF file when it is loaded).
struct EnvSizes {
  int64_t obs_dim;
  int nq, nv, nu;
};

// The MJCF text of a built-in model ("hopper", "walker2d", "half_cheetah",
// "ant"), compiled into the library from envs/models/.
const std::string& builtin_model_xml(const std::string& model);

struct ModelDeleter {
  void operator()(mjModel* m) const { mj_deleteModel(m); }
};
struct DataDeleter {
  void operator()(mjData* d) const { mj_deleteData(d); }
};

// Loads a built-in model (model_xml empty) or an MJCF file; throws EnvError
// with MuJoCo's message on failure.
std::shared_ptr<const mjModel> load_model(const std::string& builtin, const std::string& model_xml,
                                          const std::function<void(mjModel*)>& edit_builtin = {});

class MujocoEnv : public Env {
 public:
  const std::string& name() const override { return name_; }
  int64_t obs_dim() const override { return static_cast<int64_t>(obs_.size()); }
  int64_t act_dim() const override { return model_->nu; }
  int64_t nq() const override { return model_->nq; }
  int64_t nv() const override { return model_->nv; }
  int64_t max_episode_steps() const override { return max_episode_steps_; }
  void seed(uint64_t seed) override { rng_.seed(seed); }
  std::string rng_state() const override;
  void set_rng_state(const std::string& state) override;
  const std::vector<double>& reset() override;
  using Env::step;
  StepResult step(const double* action, int64_t size) override;
  const std::vector<double>& observation() const override { return obs_; }
  void set_state(const double* qpos, const double* qvel, const double* qacc_warmstart = nullptr) override;
  std::vector<double> qpos() const override { return {data_->qpos, data_->qpos + model_->nq}; }
  std::vector<double> qvel() const override { return {data_->qvel, data_->qvel + model_->nv}; }
  std::vector<double> qacc_warmstart() const override {
    return {data_->qacc_warmstart, data_->qacc_warmstart + model_->nv};
  }
  int64_t elapsed_steps() const override { return steps_; }

  const mjModel* model() const { return model_.get(); }
  const mjData* data() const { return data_.get(); }
  double dt() const { return model_->opt.timestep * frame_skip_; }
  int frame_skip() const { return frame_skip_; }

 protected:
  // `expected_nq/nv/nu` guard against a user model with other joints.
  // `edit_builtin` changes the built-in model after it is compiled (a version's
  // parameter, e.g. Walker2d-v5's foot friction); a user's file is never edited.
  MujocoEnv(std::string name, const std::string& builtin, const std::string& model_xml, int frame_skip,
            int64_t max_episode_steps, int64_t obs_dim, int expected_nq, int expected_nv, int expected_nu,
            const std::function<void(mjModel*)>& edit_builtin = {});

  // Robot-specific parts.
  virtual void add_reset_noise(double* qpos, double* qvel) = 0;
  virtual void compute_observation(double* obs) const = 0;
  // Reward of the step just taken, from what capture_before() recorded and
  // the action as given (the motors get it clipped to their control range).
  virtual double step_reward(const double* action) = 0;
  virtual void capture_before() = 0;
  // Runs after each physics step (Ant: contact forces).
  virtual void after_physics_step() {}

  // gym's two reset-noise schemes: qpos, qvel += U(-scale, scale) (Hopper,
  // Walker2d), or qpos += U(-scale, scale) and qvel += scale N(0, 1)
  // (HalfCheetah, Ant).
  void uniform_reset_noise(double* qpos, double* qvel, double scale);
  void uniform_normal_reset_noise(double* qpos, double* qvel, double scale);
  // The reset-noise generator (seeded by seed()), for envs with their own reset draws.
  std::mt19937_64& rng() { return rng_; }
  // Index of a body by name, or EnvError naming the model.
  int body_id(const char* body) const;
  // The planar robots' observation: qpos[1:] (x excluded), then qvel, each
  // velocity clipped to [-qvel_clip, qvel_clip] when qvel_clip > 0.
  void planar_observation(double* obs, double qvel_clip) const;
  // weight * |a|^2 over the (clipped) action.
  double control_cost(const double* action, double weight) const;
  // The planar walkers' reward (Hopper, Walker2d):
  // forward_weight * x-velocity + healthy_reward (when `pay_healthy`) - ctrl_weight |a|^2.
  double planar_walker_reward(double x_before, const double* action, double forward_weight, double healthy_reward,
                              bool pay_healthy, double ctrl_weight) const;
  // Whether a step pays the healthy reward. gym v3 and Gymnasium v4 pay it
  // while healthy or whenever unhealthy states terminate (float(is_healthy or
  // terminate_when_unhealthy)), so also on the step that falls; Gymnasium v5
  // only while healthy (its version history: "healthy_reward was given on every
  // step (even if the Hopper was unhealthy)").
  static bool paid_healthy_reward(bool only_when_healthy, bool terminate_when_unhealthy, bool healthy) {
    return only_when_healthy ? healthy : (healthy || terminate_when_unhealthy);
  }

  std::shared_ptr<const mjModel> model_;
  std::unique_ptr<mjData, DataDeleter> data_;
  std::vector<double> obs_;

 private:
  void refresh_observation();
  bool instability(std::string& message) const;

  std::string name_;
  int frame_skip_;
  int64_t max_episode_steps_;
  int64_t steps_ = 0;
  std::mt19937_64 rng_{0};
  std::vector<int> warning_counts_;
};

}  // namespace aaren::envs
