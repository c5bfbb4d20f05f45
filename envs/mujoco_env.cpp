#include "envs/mujoco_env.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
#include <sstream>
#include <type_traits>

#include <mujoco/mjxmacro.h>

namespace aaren::envs {

namespace {

// MuJoCo prints warnings to stdout by default; keep the text for the step
// result instead (per thread: vectorised envs step on several threads).
thread_local std::string last_warning;

void capture_warning(const char* message) { last_warning = message ? message : ""; }

void install_handlers() {
  static std::once_flag once;
  std::call_once(once, [] { mju_user_warning = capture_warning; });
}

// MuJoCo's parse errors span several lines ("Error: ...\nElement 'x', line 3\n");
// one line for our messages.
std::string one_line(const char* text) {
  std::string s(text);
  for (auto& ch : s)
    if (ch == '\n' || ch == '\r') ch = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  std::string out;
  for (char ch : s)
    if (!(ch == ' ' && !out.empty() && out.back() == ' ')) out += ch;
  return out;
}

constexpr int kWatchedWarnings[] = {mjWARN_BADQACC, mjWARN_BADQVEL, mjWARN_BADQPOS, mjWARN_BADCTRL};

// The first value of `values` (rows x cols of them) that is NaN or infinite, named by its
// row and column ("geom_friction[4][0] is nan"; "gravity[1]" for one column); "" for none,
// and for integers, bytes and names, which cannot be NaN.
template <typename Value>
std::string first_non_finite(const char* field, const Value* values, int64_t rows, int64_t cols) {
  if constexpr (std::is_floating_point_v<Value>)
    for (int64_t i = 0; i < rows * cols; ++i)
      if (!std::isfinite(values[i])) {
        std::ostringstream out;
        out << field << "[" << i / cols << "]";
        if (cols > 1) out << "[" << i % cols << "]";
        out << " is " << values[i];
        return out.str();
      }
  return "";
}

// Arrays MuJoCo stores for the user and never reads in simulation (the user="..." attributes,
// <numeric> and <tuple> data): a NaN there may be a user's "not set" mark.
bool user_data(const std::string& field) {
  return field.find("_user") != std::string::npos || field == "numeric_data" || field == "tuple_objprm";
}

// MuJoCo's XML parser takes "nan" and "inf" for any real attribute (gravity, friction,
// a geom's size, ...) and simulates with them: a NaN gravity gave NaN returns, a NaN
// friction plausible ones. Every real number of the model, its options and its arrays
// (MuJoCo's own list of them, mjxmacro.h), must be finite, less the user's data; "" when they are.
std::string non_finite_model_value(const mjModel* m) {
  std::string found;
#define X(type, name) \
  if (found.empty()) found = first_non_finite("option " #name, &m->opt.name, 1, 1);
  MJOPTION_FLOATS
#undef X
#define X(name, size) \
  if (found.empty()) found = first_non_finite("option " #name, m->opt.name, size, 1);
  MJOPTION_VECTORS
#undef X
  MJMODEL_POINTERS_PREAMBLE(m)
#define X(type, name, rows, cols) \
  if (found.empty() && !user_data(#name)) found = first_non_finite(#name, m->name, m->rows, cols);
  MJMODEL_POINTERS
#undef X
  return found;
}

}  // namespace

std::shared_ptr<const mjModel> load_model(const std::string& builtin, const std::string& model_xml,
                                          const std::function<void(mjModel*)>& edit_builtin) {
  install_handlers();
  char error[1024] = {0};
  mjModel* m = nullptr;
  if (!model_xml.empty()) {
    m = mj_loadXML(model_xml.c_str(), nullptr, error, sizeof error);
    if (!m) throw EnvError("model file " + model_xml + ": " + (error[0] ? one_line(error) : "cannot load"));
  } else {
    // The built-in MJCF text goes through MuJoCo's virtual file system.
    const std::string& xml = builtin_model_xml(builtin);
    auto vfs = std::make_unique<mjVFS>();
    mj_defaultVFS(vfs.get());
    const std::string file = builtin + ".xml";
    if (mj_makeEmptyFileVFS(vfs.get(), file.c_str(), static_cast<int>(xml.size())) != 0)
      throw EnvError("built-in model " + builtin + ": cannot create the virtual file");
    const int index = mj_findFileVFS(vfs.get(), file.c_str());
    std::memcpy(vfs->filedata[index], xml.data(), xml.size());
    m = mj_loadXML(file.c_str(), vfs.get(), error, sizeof error);
    mj_deleteVFS(vfs.get());
    if (!m) throw EnvError("built-in model " + builtin + ": " + error);
    if (edit_builtin) edit_builtin(m);
  }
  std::shared_ptr<const mjModel> model(m, [](const mjModel* p) { mj_deleteModel(const_cast<mjModel*>(p)); });
  // MuJoCo accepts any number here; a NaN or non-positive timestep runs and
  // yields NaN returns (or time that goes backwards).
  const auto origin = model_xml.empty() ? "built-in model " + builtin : "model file " + model_xml;
  if (!std::isfinite(m->opt.timestep) || m->opt.timestep <= 0)
    throw EnvError(origin + ": option timestep " + std::to_string(m->opt.timestep) + ", expected a finite number > 0");
  if (const auto bad = non_finite_model_value(m); !bad.empty())
    throw EnvError(origin + ": " + bad + ", expected finite numbers");
  for (int i = 0; i < m->nbody; ++i)
    if (m->body_mass[i] < 0)
      throw EnvError(origin + ": body " + std::to_string(i) + " has mass " + std::to_string(m->body_mass[i]) +
                     ", expected a finite number >= 0");
  return model;
}

MujocoEnv::MujocoEnv(std::string name, const std::string& builtin, const std::string& model_xml, int frame_skip,
                     int64_t max_episode_steps, int64_t obs_dim, int expected_nq, int expected_nv, int expected_nu,
                     const std::function<void(mjModel*)>& edit_builtin)
    : name_(std::move(name)), frame_skip_(frame_skip), max_episode_steps_(max_episode_steps) {
  if (frame_skip < 1) throw EnvError(name_ + ": frame_skip must be >= 1");
  if (max_episode_steps < 1) throw EnvError(name_ + ": max_episode_steps must be >= 1");
  model_ = load_model(builtin, model_xml, edit_builtin);
  const auto origin = model_xml.empty() ? "the built-in model" : "model file " + model_xml;
  if (model_->nq != expected_nq || model_->nv != expected_nv || model_->nu != expected_nu)
    throw EnvError(origin + ": " + name_ + " needs nq=" + std::to_string(expected_nq) +
                   ", nv=" + std::to_string(expected_nv) + ", nu=" + std::to_string(expected_nu) +
                   " (the same joints and " + "actuators), got nq=" + std::to_string(model_->nq) +
                   ", nv=" + std::to_string(model_->nv) + ", nu=" + std::to_string(model_->nu));
  data_.reset(mj_makeData(model_.get()));
  if (!data_) throw EnvError(name_ + ": cannot allocate mjData");
  obs_.assign(static_cast<size_t>(obs_dim), 0.0);
  mj_forward(model_.get(), data_.get());
}

int MujocoEnv::body_id(const char* body) const {
  const int id = mj_name2id(model_.get(), mjOBJ_BODY, body);
  if (id < 0) throw EnvError(name_ + ": the model has no body named '" + body + "'");
  return id;
}

void MujocoEnv::uniform_reset_noise(double* qpos, double* qvel, double scale) {
  std::uniform_real_distribution<double> u(-scale, scale);
  for (int i = 0; i < model_->nq; ++i) qpos[i] += u(rng_);
  for (int i = 0; i < model_->nv; ++i) qvel[i] += u(rng_);
}

void MujocoEnv::uniform_normal_reset_noise(double* qpos, double* qvel, double scale) {
  std::uniform_real_distribution<double> u(-scale, scale);
  std::normal_distribution<double> n(0.0, 1.0);
  for (int i = 0; i < model_->nq; ++i) qpos[i] += u(rng_);
  for (int i = 0; i < model_->nv; ++i) qvel[i] += scale * n(rng_);
}

void MujocoEnv::planar_observation(double* obs, double qvel_clip) const {
  const mjData* d = data_.get();
  int k = 0;
  for (int i = 1; i < model_->nq; ++i) obs[k++] = d->qpos[i];
  for (int i = 0; i < model_->nv; ++i)
    obs[k++] = qvel_clip > 0 ? std::clamp(d->qvel[i], -qvel_clip, qvel_clip) : d->qvel[i];
}

double MujocoEnv::control_cost(const double* action, double weight) const {
  double sq = 0.0;
  for (int i = 0; i < model_->nu; ++i) sq += action[i] * action[i];
  return weight * sq;
}

double MujocoEnv::planar_walker_reward(double x_before, const double* action, double forward_weight,
                                       double healthy_reward, bool pay_healthy, double ctrl_weight) const {
  const double x_velocity = (data_->qpos[0] - x_before) / dt();
  return forward_weight * x_velocity + (pay_healthy ? healthy_reward : 0.0) - control_cost(action, ctrl_weight);
}

void MujocoEnv::refresh_observation() { compute_observation(obs_.data()); }

std::string MujocoEnv::rng_state() const {
  std::ostringstream os;
  os << rng_;
  return os.str();
}

void MujocoEnv::set_rng_state(const std::string& state) {
  std::istringstream is(state);
  is >> rng_;
  if (!is) throw EnvError(name_ + ": not a reset-noise generator state");
}

const std::vector<double>& MujocoEnv::reset() {
  const mjModel* m = model_.get();
  mjData* d = data_.get();
  mj_resetData(m, d);
  add_reset_noise(d->qpos, d->qvel);
  mj_forward(m, d);
  steps_ = 0;
  refresh_observation();
  return obs_;
}

bool MujocoEnv::instability(std::string& message) const {
  const mjData* d = data_.get();
  for (int w : kWatchedWarnings)
    if (d->warning[w].number > 0) {
      message = last_warning.empty() ? "MuJoCo reported an unstable simulation" : last_warning;
      return true;
    }
  for (int i = 0; i < model_->nq; ++i)
    if (!std::isfinite(d->qpos[i])) {
      message = "non-finite qpos[" + std::to_string(i) + "]";
      return true;
    }
  for (int i = 0; i < model_->nv; ++i)
    if (!std::isfinite(d->qvel[i])) {
      message = "non-finite qvel[" + std::to_string(i) + "]";
      return true;
    }
  return false;
}

StepResult MujocoEnv::step(const double* action, int64_t size) {
  const mjModel* m = model_.get();
  mjData* d = data_.get();
  if (size != m->nu)
    throw EnvError(name_ + ": action has " + std::to_string(size) + " values, expected " + std::to_string(m->nu));
  for (int i = 0; i < m->nu; ++i) {
    if (!std::isfinite(action[i]))
      throw EnvError(name_ + ": action[" + std::to_string(i) + "] is " + (std::isnan(action[i]) ? "NaN" : "inf") +
                     ", expected a finite value");
    // Clipped to the action space (the actuator's control range), as D4RL's data were made.
    d->ctrl[i] = m->actuator_ctrllimited[i]
                     ? std::clamp(action[i], m->actuator_ctrlrange[2 * i], m->actuator_ctrlrange[2 * i + 1])
                     : action[i];
  }
  for (int w : kWatchedWarnings) d->warning[w].number = 0;
  last_warning.clear();

  capture_before();
  for (int k = 0; k < frame_skip_; ++k) {
    mj_step(m, d);
    after_physics_step();
  }
  ++steps_;
  StepResult r;
  // The reward charges the action as given (gym v3 and Gymnasium charge the raw action; MuJoCo and this
  // step clip only what drives the motors).
  r.reward = step_reward(action);
  refresh_observation();
  if (instability(r.warning)) {
    r.unstable = true;
    r.terminated = true;
    return r;
  }
  r.terminated = is_terminal_state();
  r.truncated = !r.terminated && steps_ >= max_episode_steps_;
  return r;
}

void MujocoEnv::set_state(const double* qpos, const double* qvel, const double* qacc_warmstart) {
  const mjModel* m = model_.get();
  mjData* d = data_.get();
  for (int i = 0; i < m->nq; ++i)
    if (!std::isfinite(qpos[i])) throw EnvError(name_ + ": set_state: qpos[" + std::to_string(i) + "] is not finite");
  for (int i = 0; i < m->nv; ++i)
    if (!std::isfinite(qvel[i])) throw EnvError(name_ + ": set_state: qvel[" + std::to_string(i) + "] is not finite");
  std::copy(qpos, qpos + m->nq, d->qpos);
  std::copy(qvel, qvel + m->nv, d->qvel);
  mj_forward(m, d);
  if (qacc_warmstart) std::copy(qacc_warmstart, qacc_warmstart + m->nv, d->qacc_warmstart);
  refresh_observation();
}

}  // namespace aaren::envs
