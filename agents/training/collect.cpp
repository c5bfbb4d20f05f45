#include "agents/training/collect.h"

#include <torch/torch.h>

#include <cmath>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>

#include "agents/training/sac.h"
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
}  // namespace

data::Transitions collect(const CollectConfig& c, const std::function<void(int64_t, int64_t)>& progress) {
  c.validate();
  auto env = envs::make_env(c.env, c.env_options);
  env->seed(c.seed);
  torch::manual_seed(c.seed);
  std::mt19937_64 rng(c.seed + 17);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  std::normal_distribution<double> normal(0.0, 1.0);

  PolicyCheckpoint policy;
  const bool replay = !c.actions.empty();
  const bool random_policy = !replay && c.policy == "random";
  int64_t transitions = c.transitions;
  const std::vector<float> stored = replay ? stored_actions(c, env->act_dim(), transitions) : std::vector<float>();
  if (!replay && !random_policy) {
    policy = load_policy(c.policy);
    if (policy.obs_dim != env->obs_dim() || policy.act_dim != env->act_dim())
      throw std::runtime_error(c.policy + ": policy for " + policy.env + " (obs " + std::to_string(policy.obs_dim) +
                               ", act " + std::to_string(policy.act_dim) + ") does not fit env " + c.env);
  }
  torch::NoGradGuard no_grad;
  const int64_t od = env->obs_dim(), ad = env->act_dim(), nq = env->nq(), nv = env->nv();
  data::Transitions t;
  t.obs_dim = od, t.act_dim = ad, t.nq = nq, t.nv = nv;
  t.has_timeouts = true;
  std::vector<double> action(ad);
  int64_t episodes = 0;
  env->reset();
  while ((transitions > 0 && t.size < transitions) || (c.episodes > 0 && episodes < c.episodes)) {
    const auto& obs = env->observation();
    if (replay) {
      std::copy(stored.begin() + t.size * ad, stored.begin() + (t.size + 1) * ad, action.begin());
    } else if (random_policy) {
      for (auto& a : action) a = uniform(rng);
    } else {
      auto x = torch::tensor(std::vector<float>(obs.begin(), obs.end())).unsqueeze(0);
      auto a = (c.deterministic ? policy.actor->deterministic(x) : policy.actor->sample(x).first).squeeze(0);
      for (int64_t k = 0; k < ad; ++k) action[k] = a[k].item<float>();
    }
    if (c.noise > 0)
      for (auto& a : action) a = std::clamp(a + c.noise * normal(rng), -1.0, 1.0);
    // The file stores float32 actions: apply exactly what is stored, so that
    // replaying the file reproduces the trajectory bit for bit.
    for (auto& a : action) a = static_cast<float>(a);
    const auto qpos = env->qpos(), qvel = env->qvel(), warm = env->qacc_warmstart();
    t.qacc_warmstart.insert(t.qacc_warmstart.end(), warm.begin(), warm.end());
    t.observations.insert(t.observations.end(), obs.begin(), obs.end());
    t.qpos.insert(t.qpos.end(), qpos.begin(), qpos.end());
    t.qvel.insert(t.qvel.end(), qvel.begin(), qvel.end());
    const auto r = env->step(action);
    t.actions.insert(t.actions.end(), action.begin(), action.end());
    t.rewards.push_back(static_cast<float>(r.reward));
    t.terminals.push_back(r.terminated);
    t.timeouts.push_back(r.truncated);
    t.next_observations.insert(t.next_observations.end(), env->observation().begin(), env->observation().end());
    ++t.size;
    if (r.done()) {
      ++episodes;
      env->reset();
    }
    if (progress && t.size % 10000 == 0) progress(t.size, episodes);
  }
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
