#include "agents/training/collect.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>

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
  if (out.empty()) throw std::invalid_argument("--out FILE.hdf5 is required");
}

namespace {
// --actions: the stored actions, checked against the env; `transitions` (0:
// all of them) must not exceed them.
std::vector<float> stored_actions(const CollectConfig& c, int64_t act_dim, int64_t& transitions) {
  int64_t width = 0;
  auto stored = data::read_actions(c.actions, width);
  if (width != act_dim)
    throw std::runtime_error(c.actions + ": actions of width " + std::to_string(width) + ", but " + c.env + " takes " +
                             std::to_string(act_dim));
  const int64_t rows = static_cast<int64_t>(stored.size()) / width;
  if (rows == 0) throw std::runtime_error(c.actions + ": holds no actions");
  if (transitions > rows)
    throw std::runtime_error("--transitions " + std::to_string(transitions) + ": " + c.actions + " holds " +
                             std::to_string(rows) + " actions");
  if (transitions == 0) transitions = rows;
  return stored;
}

// What the file says about how it was made (D4RL's metadata attributes).
std::map<std::string, std::string> collect_metadata(const CollectConfig& c, const PolicyCheckpoint& policy, bool replay,
                                                    bool random_policy) {
  std::ostringstream noise;
  noise << c.noise;
  std::map<std::string, std::string> m = {
      {"env_name", envs::resolve_env_name(c.env).spec->gym_id},
      {"made_by", "aaren collect"},
      {"policy", replay          ? "the actions of " + c.actions
                 : random_policy ? "random (uniform in [-1, 1])"
                                 : c.policy + " (SAC, step " + std::to_string(policy.step) + ", evaluation return " +
                                       std::to_string(policy.eval_return) + ")"},
      {"action_noise", noise.str()},
      {"deterministic", c.deterministic ? "true" : "false"},
      {"seed", std::to_string(c.seed)},
      {"command", c.command_line}};
  if (!c.env_options.model_xml.empty()) m["model_xml"] = c.env_options.model_xml;
  return m;
}

// Collect's behaviour in its one env, and the record of every step. The action:
// the stored one replayed, uniform in [-1, 1], or the SAC actor's (sampled from
// LibTorch's generator, or its mean); then Gaussian noise (clipped to [-1, 1])
// and rounding to float32, the file's type, so that replaying the file
// reproduces the trajectory bit for bit. The draws come in this order from one
// generator (rng: uniform, then noise), as they always have.
class CollectingPolicy : public BatchPolicy {
 public:
  CollectingPolicy(const CollectConfig& c, const PolicyCheckpoint& policy, std::vector<float> stored,
                   const std::function<void(int64_t, int64_t)>& progress, data::Transitions& t)
      : c_(c),
        replay_(!c.actions.empty()),
        random_(!replay_ && c.policy == "random"),
        actor_(policy.actor),
        stored_(std::move(stored)),
        rng_(c.seed + 17),
        progress_(progress),
        t_(t) {}

  // Before the step: the state it starts from, and the action.
  void act(const envs::VectorEnv& venv, std::vector<double>& action) override {
    const auto& obs = venv.observations();  // one env
    const int64_t ad = venv.act_dim();
    if (replay_) {
      std::copy(stored_.begin() + t_.size * ad, stored_.begin() + (t_.size + 1) * ad, action.begin());
    } else if (random_) {
      for (auto& a : action) a = uniform_(rng_);
    } else {
      auto x = torch::tensor(std::vector<float>(obs.begin(), obs.end())).unsqueeze(0);
      auto a = (c_.deterministic ? actor_->deterministic(x) : actor_->sample(x).first).squeeze(0);
      for (int64_t k = 0; k < ad; ++k) action[k] = a[k].item<float>();
    }
    if (c_.noise > 0)
      for (auto& a : action) a = std::clamp(a + c_.noise * normal_(rng_), -1.0, 1.0);
    for (auto& a : action) a = static_cast<float>(a);
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
  const CollectConfig& c_;
  const bool replay_, random_;  // the action source, decided once (not per step)
  GaussianActor actor_;         // null for random and stored actions
  const std::vector<float> stored_;
  std::mt19937_64 rng_;
  std::uniform_real_distribution<double> uniform_{-1.0, 1.0};
  std::normal_distribution<double> normal_{0.0, 1.0};
  const std::function<void(int64_t, int64_t)>& progress_;
  data::Transitions& t_;
  int64_t episodes_ = 0;
};
}  // namespace

// One env seeded once with the seed (each reset continues its stream), run
// through the rollout loop until the transitions and episodes asked for.
data::Transitions collect(const CollectConfig& c, const std::function<void(int64_t, int64_t)>& progress) {
  c.validate();
  const auto env = envs::make_env(c.env, c.env_options);  // its sizes (an --model-xml may change them)
  torch::manual_seed(c.seed);
  PolicyCheckpoint policy;
  const bool replay = !c.actions.empty();
  const bool random_policy = !replay && c.policy == "random";
  int64_t transitions = c.transitions;
  std::vector<float> stored = replay ? stored_actions(c, env->act_dim(), transitions) : std::vector<float>();
  if (!replay && !random_policy) {
    try {
      policy = load_policy(c.policy);
    } catch (const std::runtime_error& e) {  // the user's file: not a policy, damaged, unreadable
      throw std::invalid_argument(e.what());
    }
    if (policy.obs_dim != env->obs_dim() || policy.act_dim != env->act_dim())
      throw std::invalid_argument(c.policy + ": policy for " + policy.env + " (obs " + std::to_string(policy.obs_dim) +
                                  ", act " + std::to_string(policy.act_dim) + ") does not fit env " + c.env);
  }
  torch::NoGradGuard no_grad;
  data::Transitions t;
  t.obs_dim = env->obs_dim(), t.act_dim = env->act_dim(), t.nq = env->nq(), t.nv = env->nv();
  t.has_timeouts = true;
  RolloutConfig rc;
  rc.env = c.env, rc.env_options = c.env_options, rc.seed = c.seed, rc.seed_each_episode = false;
  rc.num_envs = 1, rc.episodes = c.episodes, rc.min_env_steps = transitions;
  CollectingPolicy behaviour(c, policy, std::move(stored), progress, t);
  run_rollout(rc, behaviour);
  t.metadata = collect_metadata(c, policy, replay, random_policy);
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
