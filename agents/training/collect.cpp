#include "agents/training/collect.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>

#include "agents/acting/behaviour_policy.h"
#include "agents/acting/rollout.h"
#include "agents/checkpoint/policy_file.h"
#include "data/hdf5_io.h"

namespace aaren {

void CollectConfig::validate() const {
  if (!actions.empty()) {
    if (policy != "random" || noise > 0 || deterministic || episodes > 0)
      throw std::invalid_argument(
          "--actions plays stored actions: no --policy, --noise, --deterministic or --episodes");
  } else if ((transitions > 0) == (episodes > 0)) {
    throw std::invalid_argument("give exactly one of --transitions N, --episodes N (N >= 1)");
  }
  if (transitions < 0 || episodes < 0) throw std::invalid_argument("--transitions and --episodes must be >= 0");
  if (noise < 0) throw std::invalid_argument("--noise must be >= 0");
  if (threads < 1) throw std::invalid_argument("--threads must be >= 1");
  if (out.empty()) throw std::invalid_argument("--out FILE.hdf5 is required");
}

namespace {
// --actions: the stored actions, checked against the env; `transitions` (0:
// all of them) must not exceed them.
std::vector<float> stored_actions(const CollectConfig& c, int64_t act_dim, int64_t& transitions) {
  int64_t width = 0;
  auto stored = data::read_actions(c.actions, width);
  if (width != act_dim)
    throw std::invalid_argument(c.actions + ": actions of width " + std::to_string(width) + ", but " + c.env +
                                " takes " + std::to_string(act_dim));
  const int64_t rows = static_cast<int64_t>(stored.size()) / width;
  if (rows == 0) throw std::invalid_argument(c.actions + ": holds no actions");
  if (transitions > rows)
    throw std::invalid_argument("--transitions " + std::to_string(transitions) + ": " + c.actions + " holds " +
                                std::to_string(rows) + " actions");
  if (transitions == 0) transitions = rows;
  return stored;
}

// What the file says about how it was made (D4RL's metadata attributes).
std::map<std::string, std::string> collect_metadata(const CollectConfig& c, const BehaviourPolicy& behaviour) {
  std::ostringstream noise;
  noise << c.noise;
  std::map<std::string, std::string> m = {
      {"env_name", envs::resolve_env_name(c.env).spec->gym_id},
      {"made_by", "aaren collect"},
      {"policy", behaviour.sac ? c.policy + " (SAC, step " + std::to_string(behaviour.sac->step) + ", " +
                                     describe_evaluation(*behaviour.sac) + ")"
                 : behaviour.random ? "random (uniform in [-1, 1])"
                                    : "the actions of " + c.actions},
      {"action_noise", noise.str()},
      {"deterministic", c.deterministic ? "true" : "false"},
      {"seed", std::to_string(c.seed)},
      {"command", c.command_line}};
  if (!c.env_options.model_xml.empty()) m["model_xml"] = c.env_options.model_xml;
  if (!c.provenance.empty()) m["provenance"] = c.provenance;
  return m;
}

// Collect's record of every step its behaviour policy takes in its one env.
// The action comes from the behaviour policy (make_behaviour_policy: stored,
// uniform in [-1, 1], or the SAC actor's, sampled from LibTorch's generator or
// its mean); then Gaussian noise (clipped to [-1, 1]) from `noise_rng`, and
// rounding to float32, the file's type, so that replaying the file reproduces
// the trajectory bit for bit.
class RecordingPolicy : public BatchPolicy {
 public:
  RecordingPolicy(BatchPolicy& behaviour, double noise, std::mt19937_64& noise_rng,
                  const std::function<void(int64_t, int64_t)>& progress, data::Transitions& t)
      : behaviour_(behaviour), noise_(noise), noise_rng_(noise_rng), progress_(progress), t_(t) {}

  void begin_episode(int64_t slot) override { behaviour_.begin_episode(slot); }

  // Before the step: the state it starts from, and the action.
  void act(const envs::VectorEnv& venv, std::vector<double>& action) override {
    behaviour_.act(venv, action);
    if (noise_ > 0)
      for (auto& a : action) a = std::clamp(a + noise_ * normal_(noise_rng_), -1.0, 1.0);
    for (auto& a : action) a = static_cast<float>(a);
    const auto& obs = venv.observations();  // one env
    const auto& env = venv.env(0);
    const auto qpos = env.qpos(), qvel = env.qvel(), warm = env.qacc_warmstart();
    t_.qacc_warmstart.insert(t_.qacc_warmstart.end(), warm.begin(), warm.end());
    t_.observations.insert(t_.observations.end(), obs.begin(), obs.end());
    t_.qpos.insert(t_.qpos.end(), qpos.begin(), qpos.end());
    t_.qvel.insert(t_.qvel.end(), qvel.begin(), qvel.end());
    t_.actions.insert(t_.actions.end(), action.begin(), action.end());
  }

  // After it: what it returned, and the observation it reached (before a reset).
  void observe(const envs::VectorEnv& venv) override {
    behaviour_.observe(venv);
    const auto& r = venv.step_results()[0];
    t_.rewards.push_back(static_cast<float>(r.reward));
    t_.terminals.push_back(r.terminated);
    t_.timeouts.push_back(r.truncated);
    const auto& reached = venv.reached_observations();
    t_.next_observations.insert(t_.next_observations.end(), reached.begin(), reached.end());
    ++t_.size;
    episodes_ += r.done() ? 1 : 0;
    if (progress_ && t_.size % 10000 == 0) progress_(t_.size, episodes_);
  }

 private:
  BatchPolicy& behaviour_;
  const double noise_;
  std::mt19937_64& noise_rng_;
  std::normal_distribution<double> normal_{0.0, 1.0};  // kept across steps (it draws normals in pairs)
  const std::function<void(int64_t, int64_t)>& progress_;
  data::Transitions& t_;
  int64_t episodes_ = 0;
};

// The behaviour policy collect's flags name, its sizes checked against the env.
// Uniform draws come from seed + 17, and with them the noise: one generator,
// uniform then noise per step, as collect has always drawn them.
BehaviourPolicy collect_behaviour(const CollectConfig& c, const envs::Env& env, int64_t& transitions) {
  if (!c.actions.empty()) {
    BehaviourPolicy made;
    made.policy = std::make_unique<StoredActionsPolicy>(stored_actions(c, env.act_dim(), transitions));
    return made;
  }
  BehaviourPolicy made;
  try {
    made = make_behaviour_policy(c.policy, c.seed + 17, !c.deterministic);
  } catch (const std::runtime_error& e) {  // the user's file: not a policy, damaged, unreadable
    throw std::invalid_argument(e.what());
  }
  if (made.sac && (made.sac->obs_dim != env.obs_dim() || made.sac->act_dim != env.act_dim()))
    throw std::invalid_argument(c.policy + ": policy for " + made.sac->env + " (obs " +
                                std::to_string(made.sac->obs_dim) + ", act " + std::to_string(made.sac->act_dim) +
                                ") does not fit env " + c.env);
  return made;
}
}  // namespace

// One env seeded once with the seed (each reset continues its stream), run
// through the rollout loop until the transitions and episodes asked for.
data::Transitions collect(const CollectConfig& c, const std::function<void(int64_t, int64_t)>& progress) {
  c.validate();
  const auto env = envs::make_env(c.env, c.env_options);  // its sizes (an --model-xml may change them)
  torch::manual_seed(c.seed);
  int64_t transitions = c.transitions;
  auto behaviour = collect_behaviour(c, *env, transitions);
  torch::NoGradGuard no_grad;
  data::Transitions t;
  t.obs_dim = env->obs_dim(), t.act_dim = env->act_dim(), t.nq = env->nq(), t.nv = env->nv();
  t.has_timeouts = true;
  RolloutConfig rc;
  rc.env = c.env, rc.env_options = c.env_options, rc.seed = c.seed, rc.seed_each_episode = false;
  rc.num_envs = 1, rc.episodes = c.episodes, rc.min_env_steps = transitions;
  std::mt19937_64 own_noise_rng(c.seed + 17);
  RecordingPolicy recording(*behaviour.policy, c.noise,
                            behaviour.random ? behaviour.random->generator() : own_noise_rng, progress, t);
  run_rollout(rc, recording);
  t.metadata = collect_metadata(c, behaviour);
  data::write_d4rl(c.out, t);
  return t;
}

data::Transitions concatenate(const std::vector<data::Transitions>& parts) {
  if (parts.empty()) throw std::invalid_argument("concatenate: no inputs");
  data::Transitions out;
  const auto& first = parts[0];
  out.obs_dim = first.obs_dim, out.act_dim = first.act_dim, out.nq = first.nq, out.nv = first.nv;
  out.has_timeouts = true;
  bool next = true, qpos = true, qvel = true, warm = true;
  for (const auto& p : parts) {
    if (p.obs_dim != first.obs_dim || p.act_dim != first.act_dim)
      throw std::invalid_argument("concatenate: observation/action dims differ between inputs");
    next &= !p.next_observations.empty();
    qpos &= !p.qpos.empty() && p.nq == first.nq;
    qvel &= !p.qvel.empty() && p.nv == first.nv;
    warm &= qvel && !p.qacc_warmstart.empty();
  }
  for (size_t k = 0; k < parts.size(); ++k) {
    const auto& p = parts[k];
    if (!p.episode_starts.empty()) throw std::invalid_argument("concatenate: Minari inputs are not supported");
    // A trailing partial episode would run into the next file's first
    // episode: keep only complete episodes of every input but the last.
    int64_t n = p.size;
    if (k + 1 < parts.size())
      while (n > 0 && !p.terminals[n - 1] && !p.timeouts[n - 1]) --n;
    auto append = [n](auto& dst, const auto& src, int64_t width) {
      dst.insert(dst.end(), src.begin(), src.begin() + n * width);
    };
    append(out.observations, p.observations, p.obs_dim);
    append(out.actions, p.actions, p.act_dim);
    append(out.rewards, p.rewards, 1);
    append(out.terminals, p.terminals, 1);
    append(out.timeouts, p.timeouts, 1);
    if (next) append(out.next_observations, p.next_observations, p.obs_dim);
    if (qpos) append(out.qpos, p.qpos, p.nq);
    if (qvel) append(out.qvel, p.qvel, p.nv);
    if (warm) append(out.qacc_warmstart, p.qacc_warmstart, p.nv);
    out.size += n;
  }
  if (!qpos) out.nq = 0;
  if (!qvel) out.nv = 0;
  // Keep how every part was made: part<k>/<key>, and the env they share.
  for (size_t k = 0; k < parts.size(); ++k)
    for (const auto& [key, value] : parts[k].metadata) {
      if (key == "env_name") out.metadata["env_name"] = value;
      out.metadata["part" + std::to_string(k) + "/" + key] = value;
    }
  return out;
}

}  // namespace aaren
