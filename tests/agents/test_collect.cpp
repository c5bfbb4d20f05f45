// `collect`: files in the D4RL layout whose recorded states replay exactly.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "agents/acting/rollout.h"
#include "agents/training/collect.h"
#include "data/hdf5_io.h"
#include "envs/registry.h"
#include "envs/vector_env.h"
#include "tests/data/fixtures.h"

TEST_CASE("collect: random rollouts validate and replaying infos/qpos, qvel reproduces next observations",
          "[collect]") {
  const auto dir = aaren::testing::temp_dir("collect");
  for (const std::string env_name : {"hopper", "halfcheetah", "walker2d", "ant"}) {
    aaren::CollectConfig c;
    c.env = env_name;
    c.transitions = env_name == "halfcheetah" ? 1200 : 400;
    c.seed = 3;
    c.out = dir + "/" + env_name + ".hdf5";
    c.command_line = "test";
    aaren::collect(c);
    const auto t = aaren::data::read_d4rl(c.out);  // loads = validates
    REQUIRE(t.size == c.transitions);
    REQUIRE(t.nq > 0);
    CHECK(t.metadata.at("env_name") == aaren::envs::env_spec(env_name).gym_id);  // the version: Hopper-v3
    CHECK(t.metadata.at("made_by") == "aaren collect");
    auto env = aaren::envs::make_env(env_name);
    env->reset();
    // Observations are stored in float32 (as in D4RL): compare them within
    // float32 resolution, |diff| <= 1e-6 max(1, |x|). The simulator state the
    // replay reaches is compared with the next recorded (float64) state.
    double max_diff = 0, max_state_diff = 0;
    auto obs_diff = [](double a, float b) { return std::abs(a - b) / std::max(1.0, std::abs(double(b))); };
    for (int64_t i = 0; i < t.size; ++i) {
      REQUIRE(t.qacc_warmstart.size() == t.qvel.size());
      env->set_state(t.qpos.data() + i * t.nq, t.qvel.data() + i * t.nv, t.qacc_warmstart.data() + i * t.nv);
      // The recorded observation is the one of the recorded state ...
      for (int64_t k = 0; k < t.obs_dim; ++k)
        max_diff = std::max(max_diff, obs_diff(env->observation()[k], t.observations[i * t.obs_dim + k]));
      // ... and stepping the recorded action gives the next observation.
      std::vector<double> action(t.actions.begin() + i * t.act_dim, t.actions.begin() + (i + 1) * t.act_dim);
      auto r = env->step(action);
      for (int64_t k = 0; k < t.obs_dim; ++k)
        max_diff = std::max(max_diff, obs_diff(env->observation()[k], t.next_observations[i * t.obs_dim + k]));
      CHECK(r.terminated == (t.terminals[i] != 0));
      if (!r.done() && i + 1 < t.size) {
        const auto q = env->qpos(), v = env->qvel();
        for (int64_t k = 0; k < t.nq; ++k)
          max_state_diff = std::max(max_state_diff, std::abs(q[k] - t.qpos[(i + 1) * t.nq + k]));
        for (int64_t k = 0; k < t.nv; ++k)
          max_state_diff = std::max(max_state_diff, std::abs(v[k] - t.qvel[(i + 1) * t.nv + k]));
      }
    }
    INFO(env_name);
    CHECK(max_diff < 1e-6);
    CHECK(max_state_diff < 1e-12);  // exact up to rounding, given the recorded solver warm start
    // HalfCheetah's episodes end only at the time limit.
    if (env_name == "halfcheetah") CHECK(t.timeouts[999] == 1);
  }
}

TEST_CASE("collect: --episodes gives whole episodes, and concat drops partial seams", "[collect]") {
  const auto dir = aaren::testing::temp_dir("collect2");
  aaren::CollectConfig c;
  c.env = "hopper";
  c.episodes = 3;
  c.seed = 1;
  c.out = dir + "/a.hdf5";
  const auto a = aaren::collect(c);
  CHECK(aaren::data::split_episodes(a).episodes.size() == 3);
  CHECK(aaren::data::split_episodes(a).partial_steps == 0);
  c.episodes = 0;
  c.transitions = 50;
  c.out = dir + "/b.hdf5";
  const auto b = aaren::collect(c);  // random hopper episodes are shorter than 50: ends with a partial one
  const auto b_split = aaren::data::split_episodes(b);
  REQUIRE(b_split.partial_steps > 0);
  const auto merged = aaren::concatenate({b, a});
  CHECK(merged.size == b.size - b_split.partial_steps + a.size);
  const auto m_split = aaren::data::split_episodes(merged);
  CHECK(m_split.episodes.size() == b_split.episodes.size() + 3);
  CHECK(m_split.partial_steps == 0);
  CHECK_THROWS(aaren::CollectConfig{}.validate());
}

TEST_CASE("rollout: the spread over episodes is the sample standard deviation (divisor n - 1)", "[collect]") {
  CHECK(aaren::std_of({1, 2, 3, 4}) == Approx(std::sqrt(5.0 / 3.0)));  // population: sqrt(5 / 4)
  CHECK(aaren::std_of({1e9, 1e9 + 2}) == Approx(std::sqrt(2.0)));      // a large level, a small spread
  CHECK(aaren::std_of({2.5}) == 0);                                    // one episode: no spread measured
  CHECK(aaren::std_of({}) == 0);
}

// collect and SAC's evaluation step one env seeded once, each reset continuing
// its random stream, through run_rollout: it must play exactly the plain loop
// they used to run (gym's env.seed(s) once, then reset() per episode), and with
// a step budget stop after that many steps, the last episode cut.
TEST_CASE("rollout: one env seeded once and a step budget == the plain env loop, and a budget runs one env",
          "[collect]") {
  aaren::RolloutConfig rc;
  rc.env = "hopper", rc.seed = 21, rc.seed_each_episode = false;
  rc.num_envs = 1, rc.episodes = 3, rc.min_env_steps = 250;
  aaren::RandomPolicy policy(9);
  int64_t watched = 0;
  const auto r = aaren::run_rollout(rc, policy, {}, [&](const aaren::envs::VectorEnv&) { ++watched; });

  auto env = aaren::envs::make_env("hopper");
  env->seed(21);
  env->reset();
  std::mt19937_64 rng(9);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  std::vector<double> returns;
  double episode_return = 0;
  int64_t steps = 0;
  while (returns.size() < 3 || steps < 250) {
    std::vector<double> action(3);
    for (auto& a : action) a = uniform(rng);
    const auto s = env->step(action);
    episode_return += s.reward, ++steps;
    if (s.done()) returns.push_back(episode_return), episode_return = 0, env->reset();
  }
  CHECK(r.env_steps == steps);
  CHECK(watched == steps + 1);  // after the reset, then after every step
  REQUIRE(r.episodes.size() == returns.size());
  CHECK(returns.size() > 3);  // random actions topple the hopper within 250 steps several times
  for (size_t e = 0; e < returns.size(); ++e) CHECK(r.episodes[e].episode_return == returns[e]);

  rc.num_envs = 2;
  CHECK_THROWS_WITH(aaren::run_rollout(rc, policy), Catch::Contains("a step budget runs one env"));
}

namespace {
// Zero actions, except one value of one env at one step of one of its episodes: NaN, inf or -inf.
class PoisonedPolicy : public aaren::BatchPolicy {
 public:
  PoisonedPolicy(int64_t env, int64_t episode_of_env, int64_t step, int64_t component, double value)
      : env_(env), episode_(episode_of_env), step_(step), component_(component), value_(value) {}
  void begin_episode(int64_t slot) override {
    if (slot == env_) ++begun_;
  }
  void act(const aaren::envs::VectorEnv& envs, std::vector<double>& actions) override {
    std::fill(actions.begin(), actions.end(), 0.0);
    if (begun_ - 1 == episode_ && envs.episode_steps()[env_] == step_)
      actions[env_ * envs.act_dim() + component_] = value_;
  }
  void observe(const aaren::envs::VectorEnv&) override {}

 private:
  int64_t env_, episode_, step_, component_, begun_ = 0;
  double value_;
};
}  // namespace

// An action that is not finite is refused before any env is stepped with it, naming the value,
// the env, the episode (numbered as the result numbers them: env i's k-th is i + k * envs) and the
// step: a policy past float's range is said as such, not as MuJoCo's refusal of an input.
TEST_CASE("rollout: an action that is not finite is refused, naming its value, env, episode and step", "[collect]") {
  aaren::RolloutConfig rc;
  rc.env = "hopper", rc.seed = 4, rc.episodes = 6, rc.num_envs = 2;
  PoisonedPolicy clean(0, 0, 0, 0, 0.0);  // zero actions throughout: the hopper falls within a few dozen steps
  const auto lengths = aaren::run_rollout(rc, clean).lengths();
  REQUIRE(lengths.size() == 6);
  struct Case {
    int64_t env, episode_of_env, step, component;
    double value;
    std::string said;
  };
  const double inf = std::numeric_limits<double>::infinity();
  for (const auto& c : std::vector<Case>{{1, 1, 3, 2, std::nan(""), "[2] is NaN (env 1, episode 3, step 3)"},
                                         {0, 0, 0, 0, inf, "[0] is inf (env 0, episode 0, step 0)"},
                                         {0, 2, 4, 1, -inf, "[1] is -inf (env 0, episode 4, step 4)"}}) {
    PoisonedPolicy policy(c.env, c.episode_of_env, c.step, c.component, c.value);
    int64_t vector_steps = -1;  // the watch sees the reset, then every step
    bool refused = false;
    try {
      aaren::run_rollout(rc, policy, {}, [&](const aaren::envs::VectorEnv&) { ++vector_steps; });
    } catch (const aaren::NonFiniteActionError& e) {
      refused = true;
      CHECK(std::string(e.what()) == "the policy's action" + c.said + ": no env was stepped with it");
    }
    CHECK(refused);
    // Env `env` had played its earlier episodes (env + k * 2) whole, then `step` steps of this one.
    double before = static_cast<double>(c.step);
    for (int64_t k = 0; k < c.episode_of_env; ++k) before += lengths[static_cast<size_t>(c.env + 2 * k)];
    CHECK(vector_steps == static_cast<int64_t>(before));
  }
  PoisonedPolicy finite(0, 0, 1, 0, 1e300);  // finite, however large: clipped to the control range, as always
  CHECK(aaren::run_rollout(rc, finite).episodes.size() == 6);
}
