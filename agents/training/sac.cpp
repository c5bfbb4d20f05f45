#include "agents/training/sac.h"

#include <unistd.h>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <limits>
#include <random>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "agents/acting/behaviour_policy.h"
#include "agents/acting/rollout.h"
#include "agents/checkpoint/sealed_archive.h"
#include "agents/models/device.h"
#include "base/atomic_file.h"
#include "base/clock.h"
#include "base/csv_log.h"
#include "base/file_hash.h"
#include "base/run_history.h"
#include "data/hdf5_io.h"

namespace aaren {

const std::vector<base::ConfigField<SacConfig>>& SacConfig::fields() {
  using C = SacConfig;
  using base::field;
  static const std::vector<base::ConfigField<C>> table{
      field("env", &C::env, "environment (see 'aaren envs')"),
      field("env-steps", &C::steps, "env steps (one gradient step per env step after --learning-starts)", {"", true})
          .formerly("steps"),
      field("out", &C::out_dir, "output folder: log.csv, eval.csv, policy_*.pt, config.json, plot", {"out"}),
      field("learning-starts", &C::learning_starts, "uniform random actions first, for this many steps"),
      field("batch-size", &C::batch_size, "minibatch size"),
      field("hidden-dim", &C::hidden, "MLP width (2 hidden layers; the actor and both critics)").formerly("hidden"),
      field("buffer-size", &C::buffer_size, "replay capacity"),
      field("gamma", &C::gamma, "discount"),
      field("tau", &C::tau, "Polyak averaging of the target critics"),
      field("policy-lr", &C::policy_lr, "actor learning rate"),
      field("q-lr", &C::q_lr, "critic (and alpha) learning rate"),
      field("policy-frequency", &C::policy_frequency,
            "delayed actor updates: this many actor (and alpha) updates every this many steps"),
      field("alpha", &C::alpha, "entropy weight (initial value when autotuned)"),
      field("autotune", &C::autotune, "tune alpha towards entropy -act_dim (0, or --no-autotune: alpha fixed)"),
      field("eval-every", &C::eval_every, "evaluation every N steps (0: never)"),
      field("eval-episodes", &C::eval_episodes, "episodes per evaluation"),
      field("eval-sampled", &C::eval_sampled,
            "evaluate with actions sampled from the policy (as 'aaren collect' samples a dataset), not its mean",
            {"", false, false, /*is_switch=*/true}),
      field("save-policy-steps", &C::checkpoint_steps, "save the policy (policy_step<N>.pt) at these env steps",
            {"", true})
          .formerly("checkpoint_steps"),
      field("save-policy-returns", &C::checkpoint_returns,
            "save the policy when the evaluation return first reaches these", {"", true})
          .formerly("checkpoint_returns"),
      field("stop-at-return", &C::stop_at_return,
            "stop once an evaluation's mean return reaches this (default: run all --env-steps)", {"", true}),
      field("dump-replay", &C::dump_replay, "write the replay buffer to this .hdf5 (D4RL layout)", {"", true}),
      base::field_at<C>(
          "model-xml", [](C& c) -> std::string& { return c.env_options.model_xml; },
          "MJCF file instead of the built-in model"),
      field("seed", &C::seed, "random seed"),
      field("threads", &C::threads, "LibTorch threads", {"", true}),
      field("state-every", &C::state_every,
            "save the training state to OUT/resume.pt at the first episode end after every N steps (0: never): "
            "networks, optimisers, generators and the actions taken, from which a resume rebuilds the replay buffer",
            {"", true}),
      field("resume", &C::resume,
            "continue the run in this folder from its resume.pt (the same numbers as an uninterrupted run) with its "
            "config.json's settings; --env-steps, --save-policy-*, --threads and --state-every may change, "
            "--stop-at-return and --dump-replay apply to this invocation only",
            {"", true, std::string()}),
  };
  return table;
}

nlohmann::json SacConfig::to_json() const {
  auto j = base::fields_to_json(*this, fields());
  j["command"] = "sac";
  return j;
}

void SacConfig::validate() const {
  auto fail = [](const std::string& what) { throw std::invalid_argument(what); };
  if (steps < 1) fail("--env-steps must be >= 1");
  if (learning_starts < 0) fail("--learning-starts must be >= 0");
  if (batch_size < 1) fail("--batch-size must be >= 1");
  if (hidden < 1) fail("--hidden-dim must be >= 1");
  if (buffer_size < 1) fail("--buffer-size must be >= 1");
  if (!(gamma > 0 && gamma <= 1)) fail("--gamma must be in (0, 1]");
  if (!(tau > 0 && tau <= 1)) fail("--tau must be in (0, 1]");
  if (policy_frequency < 1) fail("--policy-frequency must be >= 1");
  if (eval_every < 0 || eval_episodes < 1) fail("--eval-every must be >= 0 and --eval-episodes >= 1");
  if (out_dir.empty()) fail("--out is required");
  if (std::isnan(stop_at_return)) fail("--stop-at-return must be a number");
  if (threads < 1) fail("--threads must be >= 1");
  if (state_every < 0) fail("--state-every must be >= 0");
}

TwinQImpl::TwinQImpl(int64_t obs_dim, int64_t act_dim, int64_t hidden) {
  // nn.Linear's default initialisation, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), per member.
  auto layer = [&](const std::string& name, int64_t in, int64_t out, torch::Tensor& w, torch::Tensor& b) {
    const double k = 1.0 / std::sqrt(static_cast<double>(in));
    w = register_parameter(name + "_w", torch::empty({2, in, out}).uniform_(-k, k));
    b = register_parameter(name + "_b", torch::empty({2, 1, out}).uniform_(-k, k));
  };
  layer("l1", obs_dim + act_dim, hidden, w1, b1);
  layer("l2", hidden, hidden, w2, b2);
  layer("l3", hidden, 1, w3, b3);
}

torch::Tensor TwinQImpl::forward(const torch::Tensor& obs, const torch::Tensor& act) {
  auto x = torch::cat({obs, act}, -1).unsqueeze(0).expand({2, -1, -1});  // [2, B, O+A]
  x = torch::relu(torch::baddbmm(b1, x, w1));
  x = torch::relu(torch::baddbmm(b2, x, w2));
  return torch::baddbmm(b3, x, w3).squeeze(-1);  // [2, B]
}

torch::Tensor alpha_loss(const torch::Tensor& log_alpha, const torch::Tensor& log_prob, double target_entropy) {
  return (-log_alpha.exp() * (log_prob.detach() + target_entropy)).mean();
}

torch::Tensor soft_q_target(const torch::Tensor& reward, const torch::Tensor& terminated, const torch::Tensor& next_q,
                            const torch::Tensor& next_log_prob, double alpha, double gamma) {
  const auto soft_value = std::get<0>(next_q.min(0)) - alpha * next_log_prob;
  return reward + gamma * (1.0 - terminated) * soft_value;
}

void polyak_update(torch::nn::Module& target, const torch::nn::Module& source, double tau) {
  torch::NoGradGuard no_grad;
  auto tp = target.parameters();
  auto sp = source.parameters();
  for (size_t i = 0; i < tp.size(); ++i) tp[i].mul_(1.0 - tau).add_(sp[i], tau);
}

namespace {

// 2: the replay buffer saved as the actions taken (1: the buffer itself).
constexpr int kStateFormat = 2;

// Replay buffer in preallocated float32 tensors; qpos/qvel in float64 so the
// dump can replay exactly.
struct Replay {
  torch::Tensor obs, act, rew, next_obs, terminated, truncated;
  std::vector<double> qpos, qvel;
  int64_t capacity, size = 0, next = 0, nq, nv;

  Replay(int64_t cap, int64_t od, int64_t ad, int64_t nq_, int64_t nv_) : capacity(cap), nq(nq_), nv(nv_) {
    obs = torch::zeros({cap, od});
    act = torch::zeros({cap, ad});
    rew = torch::zeros({cap});
    next_obs = torch::zeros({cap, od});
    terminated = torch::zeros({cap});
    truncated = torch::zeros({cap});
    qpos.resize(cap * nq);
    qvel.resize(cap * nv);
  }

  void add(const std::vector<double>& o, const std::vector<double>& a, double r, const std::vector<double>& o2,
           bool term, bool trunc, const std::vector<double>& qp, const std::vector<double>& qv) {
    const int64_t i = next;
    auto put = [&](torch::Tensor& t, const std::vector<double>& v) {
      float* row = t.data_ptr<float>() + i * t.size(1);
      for (size_t k = 0; k < v.size(); ++k) row[k] = static_cast<float>(v[k]);
    };
    put(obs, o);
    put(act, a);
    put(next_obs, o2);
    rew.data_ptr<float>()[i] = static_cast<float>(r);
    terminated.data_ptr<float>()[i] = term;
    truncated.data_ptr<float>()[i] = trunc;
    std::copy(qp.begin(), qp.end(), qpos.begin() + i * nq);
    std::copy(qv.begin(), qv.end(), qvel.begin() + i * nv);
    next = (next + 1) % capacity;
    size = std::min(size + 1, capacity);
  }

  // SHA-256 of every stored row (in storage order) and the ring's position:
  // a saved state records it, and the buffer rebuilt from the state's actions
  // must give it again.
  std::string digest() const {
    base::Sha256 sha;
    for (const auto* t : {&obs, &act, &rew, &next_obs, &terminated, &truncated}) {
      const int64_t row = t->numel() / capacity;
      sha.update(t->data_ptr<float>(), static_cast<size_t>(size * row) * sizeof(float));
    }
    sha.update(qpos.data(), static_cast<size_t>(size * nq) * sizeof(double));
    sha.update(qvel.data(), static_cast<size_t>(size * nv) * sizeof(double));
    const int64_t position[2] = {size, next};
    sha.update(position, sizeof(position));
    return sha.hex();
  }

  // In insertion order (oldest first), as D4RL's medium-replay files are.
  data::Transitions to_transitions() const {
    data::Transitions t;
    t.size = size;
    t.obs_dim = obs.size(1), t.act_dim = act.size(1), t.nq = nq, t.nv = nv;
    t.has_timeouts = true;
    const int64_t first = size < capacity ? 0 : next;
    for (int64_t k = 0; k < size; ++k) {
      const int64_t i = (first + k) % capacity;
      auto row = [&](const torch::Tensor& x, std::vector<float>& out) {
        const float* p = x.data_ptr<float>() + i * x.size(1);
        out.insert(out.end(), p, p + x.size(1));
      };
      row(obs, t.observations);
      row(act, t.actions);
      row(next_obs, t.next_observations);
      t.rewards.push_back(rew.data_ptr<float>()[i]);
      t.terminals.push_back(terminated.data_ptr<float>()[i] != 0);
      t.timeouts.push_back(truncated.data_ptr<float>()[i] != 0);
      t.qpos.insert(t.qpos.end(), qpos.begin() + i * nq, qpos.begin() + (i + 1) * nq);
      t.qvel.insert(t.qvel.end(), qvel.begin() + i * nv, qvel.begin() + (i + 1) * nv);
    }
    return t;
  }
};

torch::Tensor to_tensor(const std::vector<double>& v) {
  return torch::tensor(std::vector<float>(v.begin(), v.end())).unsqueeze(0);
}

// Mean return of evaluation episodes on a separate env (seeded once for the
// round, each reset continuing its stream), acting with the mean action or
// (--eval-sampled) sampling as `aaren collect` does. Sampling draws from
// LibTorch's global generator: it is seeded for the round and restored
// afterwards, so the training run draws the same numbers with or without it.
double evaluate(GaussianActor& actor, const SacConfig& c, int64_t round) {
  const uint64_t seed = c.seed * 1000003 + 7919 * static_cast<uint64_t>(round);
  torch::NoGradGuard no_grad;
  auto generator = at::detail::getDefaultCPUGenerator();
  const auto training_rng = generator.get_state();
  if (c.eval_sampled) torch::manual_seed(seed);
  RolloutConfig rc;
  rc.env = c.env, rc.env_options = c.env_options, rc.seed = seed, rc.seed_each_episode = false;
  rc.num_envs = 1, rc.episodes = c.eval_episodes;
  SacBatchPolicy policy(actor, c.eval_sampled);
  double total = 0;  // every step's reward in the order they came (one sum over the episodes, as always logged)
  run_rollout(rc, policy, {}, [&](const envs::VectorEnv& v) { total += v.rewards()[0]; });
  generator.set_state(training_rng);
  return total / c.eval_episodes;
}

// One SAC run's state, and its steps as small methods. The order of every
// random draw (LibTorch's generator, `rng`, the env's) is that of the
// original single loop, so runs and resumed runs are bit for bit the same.
struct SacRun {
  const SacConfig& c;
  std::unique_ptr<envs::Env> env;
  int64_t od, ad;
  std::mt19937_64 rng;
  GaussianActor actor{nullptr};
  TwinQ q{nullptr}, q_target{nullptr};
  std::unique_ptr<torch::optim::Adam> actor_opt, q_opt, alpha_opt;
  double target_entropy;
  torch::Tensor log_alpha;
  double alpha;
  std::unique_ptr<Replay> replay;
  // Every action the run has taken, in order, as float32 (what the buffer
  // stores and the env stepped with): the saved state keeps these instead of
  // the buffer, which replaying them rebuilds (4 bytes x act_dim a step instead of the whole transition).
  std::vector<float> actions_taken;
  SacResult result;
  SacProgress p;
  std::vector<double> recent;      // the last 10 episode returns
  std::vector<bool> return_saved;  // per --save-policy-returns entry
  std::string state_path;          // OUT/resume.pt
  nlohmann::json identity;         // what a resume must match
  std::string env_rng;             // the env's generator before the reset that starts the current episode
  std::vector<double> obs, action;
  int64_t first_step = 1;
  std::ofstream log, eval_log;
  double episode_return = 0;
  int64_t episode_length = 0;

  explicit SacRun(const SacConfig& config);
  void save_state(int64_t step);
  bool resume();
  void check_state_matches(nlohmann::json& meta) const;
  void rebuild_replay(const torch::Tensor& actions, const nlohmann::json& meta);
  void open_logs(bool resumed);
  void save_policy_as(const std::string& tag);
  envs::StepResult act_and_store();  // steps the env with `action`, stores the transition
  bool step_env(int64_t step);       // true when the episode ended
  void learn(int64_t step);
  bool evaluate_now(int64_t step);  // true when --stop-at-return is reached
  void dump_replay();
};

SacRun::SacRun(const SacConfig& config)
    : c(config),
      env(envs::make_env(c.env, c.env_options)),
      od(env->obs_dim()),
      ad(env->act_dim()),
      rng(c.seed),
      target_entropy(-static_cast<double>(ad)),
      alpha(c.alpha),
      return_saved(c.checkpoint_returns.size(), false),
      state_path(c.out_dir + "/resume.pt"),
      action(ad) {
  env->seed(c.seed);
  actor = GaussianActor(od, ad, c.hidden);
  q = TwinQ(od, ad, c.hidden);
  q_target = TwinQ(od, ad, c.hidden);
  polyak_update(*q_target, *q, 1.0);
  actor_opt = std::make_unique<torch::optim::Adam>(actor->parameters(), torch::optim::AdamOptions(c.policy_lr));
  q_opt = std::make_unique<torch::optim::Adam>(q->parameters(), torch::optim::AdamOptions(c.q_lr));
  log_alpha = torch::full({1}, std::log(c.alpha), torch::requires_grad());
  alpha_opt =
      std::make_unique<torch::optim::Adam>(std::vector<torch::Tensor>{log_alpha}, torch::optim::AdamOptions(c.q_lr));
  replay = std::make_unique<Replay>(std::min(c.buffer_size, c.steps), od, ad, env->nq(), env->nv());
  p.eval_return = std::nan("");
  identity = {{"env", envs::resolve_env_name(c.env).spec->gym_id},
              {"model_xml", c.env_options.model_xml},
              {"seed", c.seed},
              {"hidden", c.hidden},
              {"batch_size", c.batch_size},
              {"capacity", replay->capacity},
              {"learning_starts", c.learning_starts},
              {"policy_frequency", c.policy_frequency},
              {"gamma", c.gamma},
              {"tau", c.tau},
              {"policy_lr", c.policy_lr},
              {"q_lr", c.q_lr},
              {"autotune", c.autotune},
              {"eval_every", c.eval_every},
              {"eval_episodes", c.eval_episodes},
              {"eval_sampled", c.eval_sampled}};
  env_rng = env->rng_state();
  obs = env->reset();
}

// Saved at episode boundaries, so the env is rebuilt by restoring its
// generator and resetting (bit for bit). The replay buffer is saved as the
// actions taken since step 1: MuJoCo is deterministic, so stepping a freshly
// seeded env with them gives the buffer again (checked against its digest).
void SacRun::save_state(int64_t step) {
  torch::serialize::OutputArchive a, actor_a, q_a, qt_a, actor_o, q_o, alpha_o;
  actor->save(actor_a), q->save(q_a), q_target->save(qt_a);
  actor_opt->save(actor_o), q_opt->save(q_o), alpha_opt->save(alpha_o);
  a.write("actor", actor_a), a.write("q", q_a), a.write("q_target", qt_a);
  a.write("actor_opt", actor_o), a.write("q_opt", q_o), a.write("alpha_opt", alpha_o);
  a.write("log_alpha", log_alpha.detach().clone());
  a.write("actions", torch::from_blob(actions_taken.data(), {step, ad}, torch::kFloat32).clone());
  a.write("torch_rng", at::detail::getDefaultCPUGenerator().get_state());
  std::ostringstream rng_text;
  rng_text << rng;
  auto finite_or_null = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  const nlohmann::json meta{{"identity", identity},
                            {"state_format", kStateFormat},
                            {"step", step},
                            {"replay_sha256", replay->digest()},
                            {"replay_size", replay->size},
                            {"replay_next", replay->next},
                            {"episodes", p.episodes},
                            {"last_return", p.last_return},
                            {"recent", recent},
                            {"q_loss", p.q_loss},
                            {"actor_loss", p.actor_loss},
                            {"eval_return", finite_or_null(p.eval_return)},
                            {"return_saved", std::vector<int>(return_saved.begin(), return_saved.end())},
                            {"eval_steps", result.eval_steps},
                            {"eval_returns", result.eval_returns},
                            {"checkpoints", result.checkpoints},
                            {"rng", rng_text.str()},
                            {"env_rng", env_rng}};
  a.write("meta_json", c10::IValue(meta.dump()));
  save_sealed_archive(a, state_path);
}

// A state may continue this run only if it was written by the same settings
// (those a resume may not change) and by this format.
void SacRun::check_state_matches(nlohmann::json& meta) const {
  // States written before env versions were rows record a bare name (hopper): compare its row's id.
  auto& stored_env = meta.at("identity").at("env");
  if (stored_env.is_string()) stored_env = envs::resolve_env_name(stored_env.get<std::string>()).spec->gym_id;
  // The buffer's capacity (the smaller of --buffer-size and --env-steps) may change with --env-steps
  // while the buffer has not filled under either capacity: every step so far is kept, in order, with
  // the same position, as a run asked for the new --env-steps from the start keeps them.
  auto other_capacity = meta.at("identity");
  other_capacity["capacity"] = identity.at("capacity");
  const int64_t saved_capacity = meta.at("identity").at("capacity"), capacity = identity.at("capacity");
  if (other_capacity == identity && saved_capacity != capacity) {
    if (meta.at("step").get<int64_t>() < std::min(saved_capacity, capacity)) {
      meta["identity"]["capacity"] = capacity;
    } else {
      throw std::invalid_argument(
          state_path + ": the replay buffer held " + std::to_string(saved_capacity) +
          " transitions (the smaller of --buffer-size and --env-steps), this run's would hold " +
          std::to_string(capacity) + ", and the " + meta.at("step").dump() +
          " steps taken fill the smaller (the two would keep different transitions): resume "
          "with an --env-steps that keeps it at " +
          std::to_string(saved_capacity));
    }
  }
  if (meta.at("identity") != identity)
    throw std::invalid_argument(state_path + ": written by another configuration (" + meta.at("identity").dump() +
                                "), this run is " + identity.dump() +
                                "; drop the flags that changed, or use another --out");
  if (meta.value("state_format", 1) != kStateFormat)
    throw std::invalid_argument(state_path + ": a training state of an older aaren (it holds the replay buffer, " +
                                "not the actions taken); continue it with the build that wrote it, or start again");
}

// Restores OUT/resume.pt when --resume names the run; false for a new run.
bool SacRun::resume() {
  if (c.resume.empty()) return false;
  if (!std::filesystem::exists(state_path))
    throw std::invalid_argument("--resume " + c.resume + ": no " + state_path +
                                " (a run saves one with --state-every N); start it again without --resume");
  torch::serialize::InputArchive a;
  try {
    a = load_sealed_archive(state_path, "SAC training state");
  } catch (const std::runtime_error& e) {
    throw std::invalid_argument(e.what());
  }
  try {
    c10::IValue text;
    a.read("meta_json", text);
    auto meta = nlohmann::json::parse(text.toStringRef());
    check_state_matches(meta);
    torch::serialize::InputArchive actor_a, q_a, qt_a, actor_o, q_o, alpha_o;
    a.read("actor", actor_a), a.read("q", q_a), a.read("q_target", qt_a);
    a.read("actor_opt", actor_o), a.read("q_opt", q_o), a.read("alpha_opt", alpha_o);
    actor->load(actor_a), q->load(q_a), q_target->load(qt_a);
    actor_opt->load(actor_o), q_opt->load(q_o), alpha_opt->load(alpha_o);
    // A fresh tensor for every read: read() into a defined tensor replaces
    // its storage in place and keeps its dtype.
    auto read = [&](const std::string& key) {
      torch::Tensor t;
      a.read(key, t);
      return t;
    };
    const auto saved_log_alpha = read("log_alpha");
    {
      torch::NoGradGuard no_grad;
      log_alpha.copy_(saved_log_alpha);
    }
    alpha = log_alpha.exp().item<double>();
    rebuild_replay(read("actions"), meta);
    auto generator = at::detail::getDefaultCPUGenerator();  // a handle: sets the global one
    generator.set_state(read("torch_rng"));
    std::istringstream(meta.at("rng").get<std::string>()) >> rng;
    p.episodes = meta.at("episodes"), p.last_return = meta.at("last_return");
    recent = meta.at("recent").get<std::vector<double>>();
    p.recent_mean_return = recent.empty() ? 0.0 : mean_of(recent);
    p.q_loss = meta.at("q_loss"), p.actor_loss = meta.at("actor_loss");
    p.eval_return = meta.at("eval_return").is_null() ? std::nan("") : meta.at("eval_return").get<double>();
    const auto saved = meta.at("return_saved").get<std::vector<int>>();
    for (size_t k = 0; k < saved.size() && k < return_saved.size(); ++k) return_saved[k] = saved[k] != 0;
    result.eval_steps = meta.at("eval_steps").get<std::vector<int64_t>>();
    result.eval_returns = meta.at("eval_returns").get<std::vector<double>>();
    result.checkpoints = meta.at("checkpoints").get<std::vector<std::string>>();
    first_step = meta.at("step").get<int64_t>() + 1;
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(state_path + ": damaged training state (" + std::string(e.what()) + ")");
  } catch (const c10::Error& e) {
    throw std::invalid_argument(state_path + ": training state does not match this configuration (" +
                                torch_error_line(e) + ")");
  }
  return true;
}

// The replay buffer and the env as they were at the saved step, by stepping the
// env (seeded as the run seeded it, just reset) with the run's actions; every
// episode had ended by then, so the env ends at the same reset.
void SacRun::rebuild_replay(const torch::Tensor& actions, const nlohmann::json& meta) {
  const int64_t steps = meta.at("step");
  if (actions.dim() != 2 || actions.size(0) != steps || actions.size(1) != ad)
    throw std::invalid_argument(state_path + ": damaged training state (actions " + std::to_string(actions.numel()) +
                                " values, expected " + std::to_string(steps) + " x " + std::to_string(ad) + ")");
  const auto a = actions.to(torch::kFloat32).contiguous();
  actions_taken.assign(a.data_ptr<float>(), a.data_ptr<float>() + a.numel());
  bool episode_ended = true;
  for (int64_t k = 0; k < steps; ++k) {
    std::copy(actions_taken.begin() + k * ad, actions_taken.begin() + (k + 1) * ad, action.begin());
    episode_ended = act_and_store().done();
  }
  const auto digest = replay->digest();
  if (!episode_ended || env_rng != meta.at("env_rng").get<std::string>() || digest != meta.at("replay_sha256"))
    throw std::invalid_argument(
        state_path + ": the run's " + std::to_string(steps) +
        " actions, replayed here, do not give its replay buffer again (sha256 " + digest + ", saved " +
        meta.at("replay_sha256").get<std::string>() +
        "): the env steps differently here (another MuJoCo build, or --model-xml's file changed); continue the run "
        "where it started");
}

// A resumed run keeps the rows up to the step it resumes after.
void SacRun::open_logs(bool resumed) {
  const int64_t keep = resumed ? first_step - 1 : -1;
  base::open_csv_log(log, c.out_dir + "/log.csv", "step,episode,return,length,alpha,q_loss,actor_loss", keep);
  base::open_csv_log(eval_log, c.out_dir + "/eval.csv", "step,eval_return", keep);
}

void SacRun::save_policy_as(const std::string& tag) {
  const std::string path = c.out_dir + "/policy_" + tag + ".pt";
  const bool evaluated = !result.eval_steps.empty();
  save_policy(
      path, {actor, envs::resolve_env_name(c.env).spec->gym_id, od, ad, c.hidden, p.step,
             evaluated ? p.eval_return : 0.0, evaluated ? result.eval_steps.back() : PolicyCheckpoint::kNoEvaluation});
  result.checkpoints.push_back(path);
}

// One env step with `action` and its transition in the buffer (with the state it
// started from, for the datasets' qpos/qvel); at an episode's end the env's
// generator is kept (a saved state restores it) and the env reset. Shared by
// the run and by rebuild_replay, so replaying the actions stores the same bits.
envs::StepResult SacRun::act_and_store() {
  const auto qpos = env->qpos(), qvel = env->qvel();
  const auto r = env->step(action);
  replay->add(obs, action, r.reward, env->observation(), r.terminated, r.truncated, qpos, qvel);
  if (r.done()) {
    env_rng = env->rng_state();
    obs = env->reset();
  } else {
    obs = env->observation();
  }
  return r;
}

bool SacRun::step_env(int64_t step) {
  if (step <= c.learning_starts) {
    // Rounded to float32, as the replay buffer stores them: the env steps with
    // exactly what is stored, so the stored actions replay the run's episodes.
    std::uniform_real_distribution<double> uniform(-1.0, 1.0);
    for (auto& a : action) a = static_cast<float>(uniform(rng));
  } else {
    torch::NoGradGuard no_grad;
    auto a = actor->sample(to_tensor(obs)).first.squeeze(0);
    std::copy(a.data_ptr<float>(), a.data_ptr<float>() + ad, action.begin());
  }
  const auto r = act_and_store();
  actions_taken.insert(actions_taken.end(), action.begin(), action.end());
  episode_return += r.reward;
  ++episode_length;
  if (!r.done()) return false;
  ++p.episodes;
  p.last_return = episode_return;
  recent.push_back(episode_return);
  if (recent.size() > 10) recent.erase(recent.begin());
  p.recent_mean_return = mean_of(recent);
  log << step << "," << p.episodes << "," << episode_return << "," << episode_length << "," << alpha << "," << p.q_loss
      << "," << p.actor_loss << std::endl;  // per line: a killed run keeps its log
  episode_return = 0;
  episode_length = 0;
  return true;
}

// A loss that is not finite would poison the networks at its step (the critics, then the actor,
// whose NaN action the env refuses much later, blaming the env): the run stops before that
// step, naming the causes (rewards too large for float arithmetic, or the step sizes).
void require_finite_loss(const std::string& whose, double loss, int64_t step) {
  if (!std::isfinite(loss))
    throw std::invalid_argument(whose + " loss at step " + std::to_string(step) + " is " +
                                (std::isnan(loss) ? "NaN" : "inf") +
                                ": the rewards are too large for float arithmetic, or --q-lr or --policy-lr is too "
                                "large; the run stops here, what it saved before kept");
}

void SacRun::learn(int64_t step) {
  // Critic: y = r + gamma (1 - terminated) (min Q'(s', a') - alpha log pi(a'|s')).
  std::uniform_int_distribution<int64_t> pick(0, replay->size - 1);
  std::vector<int64_t> idx(c.batch_size);
  for (auto& i : idx) i = pick(rng);
  const auto index = torch::tensor(idx, torch::kInt64);
  const auto b_obs = replay->obs.index_select(0, index), b_act = replay->act.index_select(0, index);
  const auto b_rew = replay->rew.index_select(0, index), b_next = replay->next_obs.index_select(0, index);
  const auto b_term = replay->terminated.index_select(0, index);
  torch::Tensor target;
  {
    torch::NoGradGuard no_grad;
    auto [next_a, next_logp] = actor->sample(b_next);
    target = soft_q_target(b_rew, b_term, q_target->forward(b_next, next_a), next_logp, alpha, c.gamma);
  }
  const auto q_pred = q->forward(b_obs, b_act);                             // [2, B]
  const auto q_loss = (q_pred - target.unsqueeze(0)).pow(2).mean(1).sum();  // both critics' MSE
  p.q_loss = q_loss.item<double>();
  require_finite_loss("the critics'", p.q_loss, step);
  q_opt->zero_grad();
  q_loss.backward();
  q_opt->step();
  if (step % c.policy_frequency == 0) {
    for (int64_t k = 0; k < c.policy_frequency; ++k) {
      auto [a, logp] = actor->sample(b_obs);
      // The critic's weights are constants here: freezing them skips their
      // weight gradients (a third of this backward pass), not the chain
      // rule through Q into the action.
      for (auto& w : q->parameters()) w.requires_grad_(false);
      const auto q_pi = std::get<0>(q->forward(b_obs, a).min(0));
      const auto actor_loss = (alpha * logp - q_pi).mean();
      p.actor_loss = actor_loss.item<double>();
      require_finite_loss("the actor's", p.actor_loss, step);
      actor_opt->zero_grad();
      actor_loss.backward();
      for (auto& w : q->parameters()) w.requires_grad_(true);
      actor_opt->step();
      if (c.autotune) {
        torch::Tensor logp_now;
        {
          torch::NoGradGuard no_grad;
          logp_now = actor->sample(b_obs).second;
        }
        alpha_opt->zero_grad();
        alpha_loss(log_alpha, logp_now, target_entropy).backward();
        alpha_opt->step();
        alpha = log_alpha.exp().item<double>();
      }
    }
  }
  polyak_update(*q_target, *q, c.tau);
}

bool SacRun::evaluate_now(int64_t step) {
  p.eval_return = evaluate(actor, c, step / c.eval_every);
  eval_log << step << "," << p.eval_return << "\n";
  eval_log.flush();
  log.flush();
  result.eval_steps.push_back(step);
  result.eval_returns.push_back(p.eval_return);
  for (size_t k = 0; k < c.checkpoint_returns.size(); ++k)
    if (!return_saved[k] && p.eval_return >= c.checkpoint_returns[k]) {
      return_saved[k] = true;
      save_policy_as("return" + std::to_string(static_cast<int64_t>(c.checkpoint_returns[k])));
    }
  return p.eval_return >= c.stop_at_return;
}

void SacRun::dump_replay() {
  auto t = replay->to_transitions();
  t.metadata = {{"env_name", envs::resolve_env_name(c.env).spec->gym_id},
                {"made_by", "aaren sac --dump-replay (the SAC replay buffer: medium-replay style)"},
                {"seed", std::to_string(c.seed)},
                {"sac_steps", std::to_string(result.steps_done)},
                {"eval", std::to_string(c.eval_episodes) + (c.eval_sampled ? " sampled" : " deterministic") +
                             " episodes every " + std::to_string(c.eval_every) + " steps"}};
  if (!c.command_line.empty()) t.metadata["command"] = c.command_line;
  if (!c.provenance.is_null()) t.metadata["provenance"] = c.provenance.dump();  // the process that wrote the file
  data::write_d4rl(c.dump_replay, t);
}

// OUT/config.json: the settings, and what ran them (a resume at `resumed_at` > 0
// appends this process to the record its stopped run left there, and warns once
// when it runs under another subnormal setting than the stretch that saved the state).
void write_config(const SacConfig& c, int64_t resumed_at) {
  auto j = c.to_json();
  if (!c.provenance.is_null()) {
    auto now = c.provenance;
    // The threads it runs with, set since the record was made (set_cpu_threads in train_sac).
    if (now.contains("machine")) now["machine"]["torch_threads"] = at::get_num_threads();
    nlohmann::json history = now;
    history["resumes"] = nlohmann::json::array();
    if (resumed_at > 0)
      history = base::resumed_history(base::recorded_provenance(c.out_dir + "/config.json"), now,
                                      {{"at_step", resumed_at}}, "at_step", c.out_dir);
    j["provenance"] = history;
  }
  base::write_file_atomically(c.out_dir + "/config.json", j.dump(2) + "\n");
}
}  // namespace

SacResult train_sac(const SacConfig& c, const std::function<void(const SacProgress&)>& progress) {
  c.validate();
  set_cpu_threads(c.threads);
  torch::manual_seed(c.seed);
  std::filesystem::create_directories(c.out_dir);
  SacRun run(c);
  auto& p = run.p;
  const bool resumed = run.resume();
  // The settings that ran, once the saved state (if any) has been found to match them.
  write_config(c, resumed ? run.first_step - 1 : 0);
  run.open_logs(resumed);
  int64_t next_state_at = c.state_every > 0 ? (run.first_step - 1) / c.state_every * c.state_every + c.state_every : 0;
  const double start = base::now_seconds();
  double window_start = start;
  int64_t window_step = run.first_step - 1;
  run.result.steps_done = run.first_step - 1;
  p.step = run.first_step - 1, p.alpha = run.alpha;
  for (int64_t step = run.first_step; step <= c.steps; ++step) {
    p.step = step;
    run.result.steps_done = step;
    const bool episode_ended = run.step_env(step);
    if (step > c.learning_starts) run.learn(step);
    p.alpha = run.alpha;
    if (c.eval_every > 0 && step % c.eval_every == 0 && run.evaluate_now(step)) {
      run.result.stopped_early = true;
      break;
    }
    if (std::find(c.checkpoint_steps.begin(), c.checkpoint_steps.end(), step) != c.checkpoint_steps.end())
      run.save_policy_as("step" + std::to_string(step));
    if (progress && (step % 1000 == 0 || step == c.steps)) {
      // Rate over the last window: learning steps are far slower than the
      // random ones before learning_starts.
      const double t = base::now_seconds();
      p.steps_per_second = (step - window_step) / std::max(t - window_start, 1e-9);
      window_step = step, window_start = t;
      p.eta_seconds = (c.steps - step) / p.steps_per_second;
      progress(p);
    }
    if (episode_ended && c.state_every > 0 && step >= next_state_at && step < c.steps) {
      run.save_state(step);
      next_state_at = step / c.state_every * c.state_every + c.state_every;
    }
  }
  run.save_policy_as("final");
  if (!c.dump_replay.empty()) run.dump_replay();
  run.result.seconds = base::now_seconds() - start;
  return run.result;
}

}  // namespace aaren
