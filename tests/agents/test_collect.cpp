// `collect`: files in the D4RL layout whose recorded states replay exactly.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <cmath>
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
