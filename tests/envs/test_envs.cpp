// Environments against gym v3's published semantics.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <random>

#include "envs/ant.h"
#include "envs/half_cheetah.h"
#include "envs/hopper.h"
#include "envs/registry.h"
#include "envs/vector_env.h"
#include "envs/walker2d.h"
#include "tests/data/fixtures.h"
#include "tests/envs/env_test_support.h"

using namespace aaren::envs;  // NOLINT: test file

namespace {
using aaren::testing::random_action;

const std::vector<std::string> kEnvs{"hopper", "halfcheetah", "walker2d", "ant"};

// Whether `env` is terminal in the state (q, v) with q[i] set to `value`.
template <class Env>
bool terminal_with_qpos(Env& env, std::vector<double> q, const std::vector<double>& v, int i, double value) {
  q[i] = value;
  env.set_state(q.data(), v.data());
  return env.is_terminal_state();
}
}  // namespace

TEST_CASE("envs: dimensions and names", "[envs]") {
  const std::map<std::string, std::pair<int64_t, int64_t>> dims{
      {"hopper", {11, 3}}, {"halfcheetah", {17, 6}}, {"walker2d", {17, 6}}, {"ant", {111, 8}}};
  for (const auto& [name, d] : dims) {
    auto env = make_env(name);
    CHECK(env->obs_dim() == d.first);
    CHECK(env->act_dim() == d.second);
    CHECK(env->reset().size() == static_cast<size_t>(d.first));
    CHECK(env->max_episode_steps() == 1000);
  }
  CHECK(make_env("Hopper-v3")->name() == "hopper");
  CHECK(make_env("hopper-medium-replay-v2")->name() == "hopper");
  CHECK(make_env("halfcheetah-medium-expert-v2")->name() == "halfcheetah");
  CHECK(make_env("Ant-v4")->obs_dim() == 27);
  CHECK(score_reference("walker2d-medium-v2").expert_return == 4592.3);
  CHECK_THROWS_WITH(make_env("pong"), Catch::Contains("unknown env 'pong'") && Catch::Contains("Hopper-v3") &&
                                          Catch::Contains("Hopper-v5"));
  CHECK_THROWS_AS(make_env("hopper-mediocre-v2"), EnvError);
}

TEST_CASE("envs: first-step reward for a zero action follows the reward formula", "[envs]") {
  std::vector<double> zero;
  {
    Hopper env;
    env.seed(1);
    env.reset();
    const double x0 = env.qpos()[0];
    auto r = env.step(std::vector<double>(3, 0.0));
    // x-velocity + healthy reward - 1e-3 |a|^2 with a = 0; dt = 0.002 x 4.
    CHECK(r.reward == Approx((env.qpos()[0] - x0) / 0.008 + 1.0).epsilon(1e-12));
    CHECK(env.dt() == Approx(0.008));
  }
  {
    Walker2d env;
    env.seed(2);
    env.reset();
    const double x0 = env.qpos()[0];
    auto r = env.step(std::vector<double>(6, 0.0));
    CHECK(r.reward == Approx((env.qpos()[0] - x0) / 0.008 + 1.0).epsilon(1e-12));
  }
  {
    HalfCheetah env;
    env.seed(3);
    env.reset();
    const double x0 = env.qpos()[0];
    auto r = env.step(std::vector<double>(6, 0.0));
    CHECK(r.reward == Approx((env.qpos()[0] - x0) / 0.05).epsilon(1e-12));
  }
  {
    // Ant: torso body position as gym reads it (data.xpos after mj_step).
    Ant env;
    env.seed(4);
    env.reset();
    const double x0 = env.data()->xpos[3];
    auto r = env.step(std::vector<double>(8, 0.0));
    CHECK(r.reward == Approx((env.data()->xpos[3] - x0) / 0.05 + 1.0).epsilon(1e-12));
  }
}

TEST_CASE("envs: rewards with a non-zero action include the control costs", "[envs]") {
  Hopper env;
  env.reset();
  const double x0 = env.qpos()[0];
  // Out-of-range actions drive the motors clipped, (1, -1, 0.5), and cost as given, as gym's hopper_v3.py
  // charges control_cost(action): 9 + 4 + 0.25.
  auto r = env.step({3.0, -2.0, 0.5});
  CHECK(r.reward == Approx((env.qpos()[0] - x0) / 0.008 + 1.0 - 1e-3 * 13.25).epsilon(1e-12));
  CHECK(env.data()->ctrl[0] == 1.0);
  CHECK(env.data()->ctrl[1] == -1.0);
  HalfCheetah cheetah;
  cheetah.reset();
  const double c0 = cheetah.qpos()[0];
  r = cheetah.step({0.5, 0.5, 0.5, 0.5, 0.5, 0.5});
  CHECK(r.reward == Approx((cheetah.qpos()[0] - c0) / 0.05 - 0.1 * 1.5).epsilon(1e-12));
}

TEST_CASE("envs: each termination rule fires at its threshold", "[envs]") {
  SECTION("hopper: z > 0.7, |angle| < 0.2, |state[2:]| < 100") {
    Hopper env;
    env.reset();
    auto q = env.qpos();
    auto v = env.qvel();
    auto at = [&](std::vector<double> qp, std::vector<double> qv) {
      env.set_state(qp.data(), qv.data());
      return env.is_terminal_state();
    };
    auto with = [](std::vector<double> x, int i, double value) {
      x[i] = value;
      return x;
    };
    CHECK(!at(with(q, 1, 0.7001), v));
    CHECK(at(with(q, 1, 0.7), v));
    CHECK(!at(with(q, 2, 0.1999), v));
    CHECK(at(with(q, 2, 0.2), v));
    CHECK(at(with(q, 2, -0.2), v));
    CHECK(!at(q, with(v, 3, 99.9)));
    CHECK(at(q, with(v, 3, 100.0)));
    CHECK(at(with(q, 4, -100.0), v));
    CHECK(!at(with(q, 0, 1e6), v));  // x is not part of the health check
  }
  SECTION("walker2d: z in (0.8, 2), angle in (-1, 1)") {
    Walker2d env;
    env.reset();
    const auto q = env.qpos(), v = env.qvel();
    auto at = [&](int i, double value) { return terminal_with_qpos(env, q, v, i, value); };
    CHECK(!at(1, 0.8001));
    CHECK(at(1, 0.8));
    CHECK(!at(1, 1.9999));
    CHECK(at(1, 2.0));
    CHECK(!at(2, 0.9999));
    CHECK(at(2, 1.0));
    CHECK(at(2, -1.0));
  }
  SECTION("ant: z in [0.2, 1], finite state") {
    Ant env;
    env.reset();
    const auto q = env.qpos(), v = env.qvel();
    auto at = [&](int i, double value) { return terminal_with_qpos(env, q, v, i, value); };
    CHECK(!at(2, 0.2));
    CHECK(at(2, 0.1999));
    CHECK(!at(2, 1.0));
    CHECK(at(2, 1.0001));
    CHECK_THROWS_AS(at(2, std::nan("")), EnvError);  // set_state refuses non-finite states
  }
  SECTION("halfcheetah never terminates") {
    HalfCheetah env;
    env.reset();
    auto q = env.qpos(), v = env.qvel();
    q[1] = -5.0;
    q[2] = 3.0;
    env.set_state(q.data(), v.data());
    CHECK(!env.is_terminal_state());
  }
  SECTION("a hopper that falls terminates within its episode") {
    Hopper env;
    env.seed(0);
    env.reset();
    StepResult r;
    int steps = 0;
    while (!(r = env.step({-1.0, -1.0, -1.0})).done()) ++steps;
    CHECK(r.terminated);
    CHECK(!r.truncated);
    CHECK(steps < 1000);
  }
}

TEST_CASE("envs: the 1000-step time limit truncates", "[envs]") {
  HalfCheetah env;
  env.seed(5);
  env.reset();
  std::mt19937_64 rng(5);
  for (int t = 1; t <= 1000; ++t) {
    auto r = env.step(random_action(rng, 6));
    CHECK(r.truncated == (t == 1000));
    CHECK(!r.terminated);
  }
  CHECK(env.elapsed_steps() == 1000);
}

TEST_CASE("envs: same seed, same trajectory, and another seed, another", "[envs]") {
  for (const auto& name : kEnvs) {
    auto run = [&](uint64_t seed) {
      auto env = make_env(name);
      env->seed(seed);
      std::vector<double> trace = env->reset();
      std::mt19937_64 rng(99);
      for (int t = 0; t < 50; ++t) {
        auto r = env->step(random_action(rng, env->act_dim()));
        trace.push_back(r.reward);
        trace.insert(trace.end(), env->observation().begin(), env->observation().end());
        if (r.done()) break;
      }
      return trace;
    };
    INFO(name);
    CHECK(run(7) == run(7));
    CHECK(run(7) != run(8));
  }
}

TEST_CASE("envs: reset noise stays within its bounds", "[envs]") {
  Hopper hopper;
  HalfCheetah cheetah;
  hopper.seed(11);
  cheetah.seed(12);
  const auto hq0 = std::vector<double>(hopper.model()->qpos0, hopper.model()->qpos0 + 6);
  double max_q = 0, max_v = 0, sum_v2 = 0, max_cq = 0;
  int n_v = 0;
  for (int i = 0; i < 300; ++i) {
    hopper.reset();
    for (int k = 0; k < 6; ++k) max_q = std::max(max_q, std::abs(hopper.qpos()[k] - hq0[k]));
    for (double x : hopper.qvel()) max_v = std::max(max_v, std::abs(x));
    cheetah.reset();
    for (int k = 0; k < 9; ++k) max_cq = std::max(max_cq, std::abs(cheetah.qpos()[k] - cheetah.model()->qpos0[k]));
    for (double x : cheetah.qvel()) sum_v2 += x * x, ++n_v;
  }
  CHECK(max_q <= 0.005);
  CHECK(max_q > 0.004);  // and it is really used
  CHECK(max_v <= 0.005);
  CHECK(max_cq <= 0.1);
  CHECK(std::sqrt(sum_v2 / n_v) == Approx(0.1).epsilon(0.1));  // 0.1 N(0, 1)
  CHECK(hq0[1] == 1.25);                                       // rootz reference: qpos[1] is the torso height
}

TEST_CASE("envs: set_state + step == stepping on from that state", "[envs]") {
  for (const auto& name : kEnvs) {
    auto a = make_env(name), b = make_env(name);
    a->seed(21);
    a->reset();
    std::mt19937_64 rng(21);
    for (int t = 0; t < 30; ++t) a->step(random_action(rng, a->act_dim(), 0.5));
    const auto q = a->qpos(), v = a->qvel();
    b->reset();
    b->set_state(q.data(), v.data());
    double max_diff = 0;
    for (size_t i = 0; i < a->observation().size(); ++i)
      max_diff = std::max(max_diff, std::abs(a->observation()[i] - b->observation()[i]));
    for (int t = 0; t < 5; ++t) {
      const auto act = random_action(rng, a->act_dim(), 0.5);
      const auto ra = a->step(act), rb = b->step(act);
      // Ant's reward reads the torso's xpos, which gym (and we) leave as
      // mj_step left it (one physics step stale), while set_state recomputes
      // it: the first reward after set_state differs by design, not the state.
      if (name != "ant" || t > 0) max_diff = std::max(max_diff, std::abs(ra.reward - rb.reward));
      for (size_t i = 0; i < a->observation().size(); ++i)
        max_diff = std::max(max_diff, std::abs(a->observation()[i] - b->observation()[i]));
    }
    INFO(name);
    CHECK(max_diff < 1e-6);
  }
}

TEST_CASE("envs: bad actions, states and model files give clear errors", "[envs]") {
  Hopper env;
  env.reset();
  CHECK_THROWS_WITH(env.step({0.0, 0.0}), Catch::Contains("action has 2 values, expected 3"));
  CHECK_THROWS_WITH(env.step({0.0, std::nan(""), 0.0}), Catch::Contains("action[1] is NaN"));
  CHECK_THROWS_WITH(Hopper(HopperConfig{.model_xml = "/nonexistent/hopper.xml"}),
                    Catch::Contains("model file /nonexistent/hopper.xml"));
  // A model with other joints is refused.
  const std::string wrong = aaren::testing::temp_dir("wrong_model") + "/wrong_model.xml";
  std::ofstream(wrong)
      << "<mujoco><worldbody><body><joint type='hinge'/><geom size='0.1'/></body></worldbody></mujoco>";
  CHECK_THROWS_WITH(Hopper(HopperConfig{.model_xml = wrong}), Catch::Contains("needs nq=6"));
}

TEST_CASE("envs: --model-xml loads a variant of the robot", "[envs]") {
  // The built-in hopper with a heavier foot, written to a file.
  std::string xml = builtin_model_xml("hopper");
  const std::string from = "size=\"0.06\" friction=\"2.0\"";
  REQUIRE(xml.find(from) != std::string::npos);
  xml.replace(xml.find(from), from.size(), "size=\"0.06\" friction=\"2.0\" density=\"3000\"");
  const std::string path = aaren::testing::temp_dir("heavy_foot") + "/heavy_foot_hopper.xml";
  std::ofstream(path) << xml;
  Hopper heavy(HopperConfig{.model_xml = path}), plain;
  CHECK(heavy.model()->body_mass[4] == Approx(3 * plain.model()->body_mass[4]));
}

TEST_CASE("envs: MuJoCo instability ends the episode with a warning, no crash", "[envs]") {
  Hopper env;
  env.reset();
  auto q = env.qpos(), v = env.qvel();
  v[3] = 1e30;  // absurd joint velocity
  env.set_state(q.data(), v.data());
  auto r = env.step({0.0, 0.0, 0.0});
  CHECK(r.unstable);
  CHECK(r.terminated);
  CHECK(!r.warning.empty());
}

TEST_CASE("envs: vectorised stepping matches single envs, auto-resets, 1 and 2 threads", "[envs]") {
  for (int threads : {1, 2}) {
    VectorEnv vec("hopper", 3, {}, 100, threads);
    std::vector<std::unique_ptr<Env>> singles;
    for (int i = 0; i < 3; ++i) {
      singles.push_back(make_env("hopper"));
      singles.back()->seed(100 + i);
      singles.back()->reset();
    }
    vec.reset();
    std::mt19937_64 rng(5);
    int episodes = 0;
    for (int t = 0; t < 400; ++t) {
      std::vector<double> actions = random_action(rng, 9);
      vec.step(actions.data());
      for (int i = 0; i < 3; ++i) {
        auto r = singles[i]->step(actions.data() + 3 * i, 3);
        CHECK(vec.rewards()[i] == r.reward);
        CHECK(vec.step_results()[i].terminated == r.terminated);
        CHECK(vec.step_results()[i].truncated == r.truncated);
        // The observation the step reached, before an ended episode's reset (a dataset's next_observations).
        for (int k = 0; k < 11; ++k) CHECK(vec.reached_observations()[11 * i + k] == singles[i]->observation()[k]);
        if (r.done()) singles[i]->reset();
        for (int k = 0; k < 11; ++k) CHECK(vec.observations()[11 * i + k] == singles[i]->observation()[k]);
      }
      for (const auto& e : vec.take_finished()) {
        ++episodes;
        CHECK(e.length > 0);
      }
    }
    INFO("threads=" << threads);
    CHECK(episodes > 3);  // random actions make the hopper fall: several auto-resets
  }
}

// Planted bugs each of the tests below catches (checked once by planting them):
// - the +-10 clip on Hopper's/Walker2d's observed velocities removed
//   (observations; the test also compares against qpos[1:], gym's slice);
// - `terminate_when_unhealthy ||` dropped from the healthy reward (the
//   terminating step's reward);
// - Walker2d's control cost, Ant's control or contact cost dropped (costs).
TEST_CASE("envs: observations are gym's definition: qpos without x, qvel clipped at +-10 (Hopper, Walker2d)",
          "[envs]") {
  for (const std::string name : {"hopper", "walker2d", "halfcheetah"}) {
    INFO(name);
    auto env = make_env(name);
    env->seed(5);
    env->reset();
    std::mt19937_64 rng(11);
    for (int t = 0; t < 20; ++t) env->step(random_action(rng, env->act_dim()).data(), env->act_dim());
    // Velocities beyond the clip, both signs.
    auto q = env->qpos(), v = env->qvel();
    v[0] = 30.0, v[1] = -25.0, v[2] = 9.5;
    env->set_state(q.data(), v.data());
    const auto& obs = env->observation();
    const double clip = name == "halfcheetah" ? 1e300 : 10.0;  // gym's HalfCheetah-v3 does not clip
    std::vector<double> expected(q.begin() + 1, q.end());
    for (double x : v) expected.push_back(std::clamp(x, -clip, clip));
    REQUIRE(obs.size() == expected.size());
    for (size_t i = 0; i < obs.size(); ++i) CHECK(obs[i] == expected[i]);
  }
}

TEST_CASE("envs: the step that ends an episode still pays the healthy reward (gym v3: terminate_when_unhealthy)",
          "[envs]") {
  for (const std::string name : {"hopper", "walker2d"}) {
    INFO(name);
    auto env = make_env(name);
    env->seed(1);
    env->reset();
    // Tipping over: the torso just inside its healthy angle, turning fast.
    auto q = env->qpos(), v = env->qvel();
    q[2] = name == "hopper" ? 0.199 : 0.999;
    v[2] = 5.0;
    env->set_state(q.data(), v.data());
    const std::vector<double> action(env->act_dim(), 0.3);
    const double x0 = env->qpos()[0];
    const auto r = env->step(action.data(), env->act_dim());
    REQUIRE(r.terminated);
    const double dt = 0.008, ctrl = 1e-3 * 0.09 * env->act_dim();
    CHECK(r.reward == Approx((env->qpos()[0] - x0) / dt + 1.0 - ctrl).epsilon(1e-12));
  }
}

TEST_CASE("envs: Walker2d's control cost and Ant's control and contact costs (gym's formulas, non-zero actions)",
          "[envs]") {
  Walker2d walker;
  walker.seed(2);
  walker.reset();
  const double w0 = walker.qpos()[0];
  auto r = walker.step({0.5, -0.5, 0.25, 1.0, -1.0, 0.0});
  CHECK(r.reward == Approx((walker.qpos()[0] - w0) / 0.008 + 1.0 - 1e-3 * 2.5625).epsilon(1e-12));

  // Ant with its contact forces computed, observed and charged (gymnasium's use_contact_forces=True).
  // The forward velocity is gym's: the torso's xpos as MuJoCo leaves it after the step.
  AntConfig config = AntConfig::v4();
  config.contact_forces_in_observation = true;
  Ant ant(config);
  ant.seed(3);
  ant.reset();
  std::mt19937_64 rng(4);
  for (int t = 0; t < 10; ++t) ant.step(random_action(rng, 8, 0.3).data(), 8);  // onto its feet
  const double a0 = ant.data()->xpos[3 * 1];                                    // body 1: the torso
  const std::vector<double> action{0.5, -0.5, 0.5, -0.5, 0.25, 0.25, -0.25, -0.25};
  r = ant.step(action.data(), 8);
  double contact = 0;
  for (int i = 0; i < 6 * ant.model()->nbody; ++i)
    contact += std::pow(std::clamp(ant.data()->cfrc_ext[i], -1.0, 1.0), 2);
  CHECK(contact > 0);  // the feet are on the ground: the cost is not vacuous
  const double expected = (ant.data()->xpos[3 * 1] - a0) / 0.05 + 1.0 - 0.5 * 1.25 - 5e-4 * contact;
  CHECK(r.reward == Approx(expected).epsilon(1e-12));
}
