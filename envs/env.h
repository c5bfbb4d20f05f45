// The environment interface: reset / step / set_state over flat double
// arrays, with termination and truncation reported separately.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace aaren::envs {

// A bad environment name, model file, action or state. what() is one line.
struct EnvError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct StepResult {
  double reward = 0.0;
  bool terminated = false;  // the task's own end (fell over, unhealthy state)
  bool truncated = false;   // the time limit
  bool unstable = false;    // MuJoCo reported an instability; the episode ends (terminated)
  std::string warning;      // MuJoCo's warning text when unstable
  bool done() const { return terminated || truncated; }
};

class Env {
 public:
  virtual ~Env() = default;

  virtual const std::string& name() const = 0;  // canonical name, e.g. "hopper"
  virtual int64_t obs_dim() const = 0;
  virtual int64_t act_dim() const = 0;
  virtual int64_t nq() const = 0;
  virtual int64_t nv() const = 0;
  virtual int64_t max_episode_steps() const = 0;

  // Re-seeds the reset-noise generator: the same seed gives the same episodes.
  virtual void seed(uint64_t seed) = 0;
  // The reset-noise generator's state as text, and back: a run resumed at an
  // episode boundary restores it and resets, and gets the same episodes.
  virtual std::string rng_state() const = 0;
  virtual void set_rng_state(const std::string& state) = 0;
  // Starts an episode (initial state + reset noise); returns the observation.
  virtual const std::vector<double>& reset() = 0;
  // Applies an action (clipped to [-1, 1]; size act_dim, finite, else
  // EnvError) for one environment step (frame_skip physics steps).
  virtual StepResult step(const double* action, int64_t size) = 0;
  StepResult step(const std::vector<double>& action) {
    return step(action.data(), static_cast<int64_t>(action.size()));
  }
  // The current observation.
  virtual const std::vector<double>& observation() const = 0;
  // Sets the simulator state (as recorded in D4RL's infos/qpos, infos/qvel)
  // and recomputes the observation. The step counter is left as it is.
  // MuJoCo's constraint solver starts from its previous solution (the warm
  // start, nv numbers): pass the recorded one for a bit-exact replay; without
  // it the next step agrees to about the solver tolerance (~1e-6).
  virtual void set_state(const double* qpos, const double* qvel, const double* qacc_warmstart = nullptr) = 0;
  virtual std::vector<double> qpos() const = 0;
  virtual std::vector<double> qvel() const = 0;
  virtual std::vector<double> qacc_warmstart() const = 0;
  // Whether the current state ends the episode by the task's rules.
  virtual bool is_terminal_state() const = 0;
  virtual int64_t elapsed_steps() const = 0;
};

}  // namespace aaren::envs
