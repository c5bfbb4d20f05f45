// Env versions as registry rows: Gymnasium's v5 of the locomotion envs
// against its source (gymnasium/envs/mujoco/<env>_v5.py, their version
// histories; ids and time limits in gymnasium/envs/__init__.py), and the
// version carried by every name.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <tuple>

#include "envs/ant.h"
#include "envs/hopper.h"
#include "envs/humanoid.h"
#include "envs/inverted_double_pendulum.h"
#include "envs/inverted_pendulum.h"
#include "envs/pusher.h"
#include "envs/reacher.h"
#include "envs/registry.h"
#include "envs/swimmer.h"
#include "envs/walker2d.h"
#include "tests/envs/env_test_support.h"
#include "tests/prerequisite.h"

namespace envs = aaren::envs;

namespace {
using aaren::testing::random_action;

// Sum of returns of `episodes` random-action episodes (seeded resets).
std::vector<double> random_returns(envs::Env& env, int episodes, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<double> returns;
  for (int e = 0; e < episodes; ++e) {
    env.seed(seed + e);
    env.reset();
    double total = 0;
    for (bool done = false; !done;) {
      const auto r = env.step(random_action(rng, env.act_dim()));
      total += r.reward;
      done = r.terminated || r.truncated;
    }
    returns.push_back(total);
  }
  return returns;
}
}  // namespace

TEST_CASE("env versions: one row per (env, version) with Gymnasium's sizes and time limits", "[envs]") {
  // id -> observation, action sizes (gymnasium/envs/mujoco/<env>_v5.py: obs_size).
  const std::map<std::string, std::pair<int64_t, int64_t>> sizes{
      {"Hopper-v3", {11, 3}},      {"Hopper-v4", {11, 3}},      {"Hopper-v5", {11, 3}},   {"HalfCheetah-v3", {17, 6}},
      {"HalfCheetah-v4", {17, 6}}, {"HalfCheetah-v5", {17, 6}}, {"Walker2d-v3", {17, 6}}, {"Walker2d-v4", {17, 6}},
      {"Walker2d-v5", {17, 6}},    {"Ant-v3", {111, 8}},        {"Ant-v4", {27, 8}},      {"Ant-v5", {105, 8}}};
  REQUIRE(envs::env_specs().size() >= sizes.size());
  for (const auto& [id, d] : sizes) {
    INFO(id);
    const auto& spec = envs::env_spec(id);
    CHECK(spec.gym_id == id);
    CHECK(spec.version == id.substr(id.size() - 2));
    CHECK(spec.obs_dim == d.first);
    CHECK(spec.act_dim == d.second);
    CHECK(spec.max_episode_steps == 1000);
    auto env = envs::make_env(id);
    CHECK(env->obs_dim() == d.first);
    CHECK(env->act_dim() == d.second);
    CHECK(env->max_episode_steps() == spec.max_episode_steps);
    CHECK(env->reset().size() == static_cast<size_t>(d.first));
  }
  // A bare name and D4RL's dataset names mean v3 (D4RL's data were collected there); ids are case-blind.
  CHECK(envs::env_spec("hopper").gym_id == "Hopper-v3");
  CHECK(envs::env_spec("walker2d-medium-replay-v2").gym_id == "Walker2d-v3");
  CHECK(envs::env_spec("hopper-v5").gym_id == "Hopper-v5");
  // Where a dataset was recorded: Minari's id or folder mean v5, a D4RL file name v3 (also in such a folder).
  CHECK(envs::dataset_env({{"env_id", "Walker2d-v5"}}, "x.hdf5")->env == "Walker2d-v5");
  CHECK(envs::dataset_env({{"dataset_id", "mujoco/ant/expert-v0"}}, "x.hdf5")->env == "Ant-v5");
  CHECK(envs::dataset_env({}, "/d/mujoco/hopper/medium-v0/data/main_data.hdf5")->env == "Hopper-v5");
  CHECK(envs::dataset_env({}, "/d/mujoco/hopper/hopper-medium-v2.hdf5")->env == "Hopper-v3");
  CHECK(envs::dataset_env({{"env_name", "hopper"}}, "x.hdf5")->env == "Hopper-v3");
  CHECK_THROWS_WITH(envs::make_env("Hopper-v9"),
                    Catch::Contains("unknown env 'Hopper-v9'") && Catch::Contains("Hopper-v5"));
}

// Both rules on the same model (Walker2d: v5's feet for both), so that only the healthy reward differs.
static void check_healthy_reward_rule(envs::Env& paid_always, envs::Env& paid_while_healthy, double unhealthy_angle) {
  paid_always.reset();
  auto q = paid_always.qpos(), v = paid_always.qvel();
  const std::vector<double> action(paid_always.act_dim(), 0.3);
  // A healthy state: the same reward (x-velocity + 1 - ctrl cost).
  paid_always.set_state(q.data(), v.data());
  paid_while_healthy.set_state(q.data(), v.data());
  auto a = paid_always.step(action), b = paid_while_healthy.step(action);
  CHECK_FALSE(a.terminated);
  CHECK(b.reward == a.reward);
  // Tilted past the healthy angle: the step ends the episode in both, and v5's reward lacks the 1.
  q = paid_always.qpos(), v = paid_always.qvel();
  q[2] = unhealthy_angle;
  paid_always.set_state(q.data(), v.data());
  paid_while_healthy.set_state(q.data(), v.data());
  a = paid_always.step(action), b = paid_while_healthy.step(action);
  CHECK(a.terminated);
  CHECK(b.terminated);
  CHECK(a.reward - b.reward == Approx(1.0).margin(1e-12));
}

TEST_CASE("env versions: Hopper-v5 and Walker2d-v5 pay the healthy reward only while healthy", "[envs]") {
  envs::Hopper hopper3(envs::HopperConfig::v3()), hopper5(envs::HopperConfig::v5());
  check_healthy_reward_rule(hopper3, hopper5, 0.5);  // |angle| < 0.2 is healthy
  auto always = envs::Walker2dConfig::v5();
  always.healthy_reward_only_when_healthy = false;
  envs::Walker2d walker_always(always), walker5(envs::Walker2dConfig::v5());
  check_healthy_reward_rule(walker_always, walker5, 1.5);  // |angle| < 1
}

TEST_CASE("env versions: Walker2d-v5 gives both feet friction 1.9 (walker2d_v5.xml)", "[envs]") {
  envs::Walker2d v3(envs::Walker2dConfig::v3()), v5(envs::Walker2dConfig::v5());
  const int right3 = mj_name2id(v3.model(), mjOBJ_GEOM, "foot_geom");
  const int left3 = mj_name2id(v3.model(), mjOBJ_GEOM, "foot_left_geom");
  REQUIRE(right3 >= 0);
  REQUIRE(left3 >= 0);
  CHECK(v3.model()->geom_friction[3 * right3] == 0.9);
  CHECK(v3.model()->geom_friction[3 * left3] == 1.9);
  CHECK(v5.model()->geom_friction[3 * right3] == 1.9);
  CHECK(v5.model()->geom_friction[3 * left3] == 1.9);
  // The friction changes the dynamics: the same random episode differs.
  CHECK(random_returns(v3, 2, 7) != random_returns(v5, 2, 7));
}

TEST_CASE("env versions: Ant-v5 observes clip(cfrc_ext[1:]) and charges every contact", "[envs]") {
  envs::Ant ant(envs::AntConfig::v5());
  ant.seed(3);
  ant.reset();
  std::mt19937_64 rng(3);
  // Walk until the legs touch the ground (non-zero contact forces).
  bool touched = false;
  for (int t = 0; t < 200 && !touched; ++t) {
    ant.step(random_action(rng, 8));
    for (int i = 6; i < 6 * ant.model()->nbody; ++i) touched = touched || ant.data()->cfrc_ext[i] != 0.0;
  }
  REQUIRE(touched);
  const auto& obs = ant.observation();
  REQUIRE(obs.size() == 105);
  const mjData* d = ant.data();
  for (int i = 0; i < 13; ++i) CHECK(obs[i] == d->qpos[i + 2]);  // x, y left out
  for (int i = 0; i < 14; ++i) CHECK(obs[13 + i] == d->qvel[i]);
  for (int i = 0; i < 78; ++i) CHECK(obs[27 + i] == std::clamp(d->cfrc_ext[6 + i], -1.0, 1.0));

  // The reward at a known step: forward (torso xpos, as mujoco left it), healthy 1, control 0.5 |a|^2,
  // contact 5e-4 |clip(cfrc_ext)|^2 over every body.
  const double x_before = d->xpos[3 * 1];
  const std::vector<double> action{0.5, -0.5, 0.25, -0.25, 0.1, -0.1, 0.3, -0.3};
  const auto r = ant.step(action);
  double contact = 0, ctrl = 0;
  for (int i = 0; i < 6 * ant.model()->nbody; ++i) contact += std::pow(std::clamp(d->cfrc_ext[i], -1.0, 1.0), 2);
  for (double a : action) ctrl += a * a;
  const double forward = (d->xpos[3 * 1] - x_before) / ant.dt();
  REQUIRE_FALSE(r.terminated);
  CHECK(r.reward == Approx(forward + 1.0 - 0.5 * ctrl - 5e-4 * contact).margin(1e-12));
  CHECK(contact > 0);

  // Unhealthy (torso above 1): terminated, and no healthy reward in v5 where v4 pays it.
  envs::Ant v4(envs::AntConfig::v4());
  auto q = ant.qpos(), v = ant.qvel();
  q[2] = 1.5;
  ant.set_state(q.data(), v.data());
  v4.set_state(q.data(), v.data());
  const auto r5 = ant.step(action), r4 = v4.step(action);
  CHECK(r5.terminated);
  CHECK(r4.terminated);
  double contact5 = 0;
  for (int i = 0; i < 6 * ant.model()->nbody; ++i)
    contact5 += std::pow(std::clamp(ant.data()->cfrc_ext[i], -1.0, 1.0), 2);
  CHECK(r4.reward - r5.reward == Approx(1.0 + 5e-4 * contact5).margin(1e-9));
}

TEST_CASE("env versions: HalfCheetah-v5 and v4 are v3's dynamics and reward", "[envs]") {
  auto v3 = envs::make_env("HalfCheetah-v3"), v4 = envs::make_env("HalfCheetah-v4");
  auto v5 = envs::make_env("HalfCheetah-v5");
  const auto returns = random_returns(*v3, 2, 11);
  CHECK(random_returns(*v4, 2, 11) == returns);
  CHECK(random_returns(*v5, 2, 11) == returns);
}

// Gymnasium's own MJCF files (gymnasium/envs/mujoco/assets/) in place of the
// built-in models: the same random episodes. The files are not bundled; set
// AAREN_GYMNASIUM_ASSETS to a folder holding them to run this check.
TEST_CASE("env versions: Gymnasium's own model files give the built-in models' episodes", "[envs]") {
  const char* folder = std::getenv("AAREN_GYMNASIUM_ASSETS");
  // Not a prerequisite of the suite (no Debian package ships Gymnasium's files): skipped, not passed.
  aaren::testing::skip_unless_provided(folder != nullptr,
                                       "AAREN_GYMNASIUM_ASSETS (a folder with Gymnasium's assets/*.xml)");
  const std::vector<std::pair<std::string, std::string>> cases{
      {"Hopper-v5", "hopper.xml"},
      {"HalfCheetah-v5", "half_cheetah.xml"},
      {"Walker2d-v5", "walker2d_v5.xml"},
      {"Ant-v5", "ant.xml"},
      {"Walker2d-v3", "walker2d.xml"},
      {"Ant-v4", "ant.xml"},
      {"InvertedPendulum-v5", "inverted_pendulum.xml"},
      {"InvertedDoublePendulum-v5", "inverted_double_pendulum.xml"},
      {"Reacher-v5", "reacher.xml"},
      {"Swimmer-v5", "swimmer.xml"},
      {"Pusher-v5", "pusher_v5.xml"},
      {"Humanoid-v5", "humanoid.xml"}};
  for (const auto& [id, file] : cases) {
    INFO(id << " with " << file);
    const auto path = std::filesystem::path(folder) / file;
    REQUIRE(std::filesystem::exists(path));
    auto builtin = envs::make_env(id), theirs = envs::make_env(id, {path.string()});
    const auto a = random_returns(*builtin, 3, 5), b = random_returns(*theirs, 3, 5);
    for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] == Approx(b[i]).epsilon(1e-9));
  }
}

// The four smaller envs Minari publishes datasets for, against their v5 source.
TEST_CASE("env versions: InvertedPendulum-v5, InvertedDoublePendulum-v5, Reacher-v5, Swimmer-v5 rows", "[envs]") {
  const std::map<std::string, std::tuple<int64_t, int64_t, int64_t>> sizes{
      {"InvertedPendulum-v5", {4, 1, 1000}}, {"InvertedDoublePendulum-v5", {9, 1, 1000}},
      {"Reacher-v5", {10, 2, 50}},           {"Pusher-v5", {23, 7, 100}},
      {"Humanoid-v5", {348, 17, 1000}},      {"Swimmer-v5", {8, 2, 1000}}};
  for (const auto& [id, d] : sizes) {
    INFO(id);
    auto env = envs::make_env(id);
    CHECK(env->obs_dim() == std::get<0>(d));
    CHECK(env->act_dim() == std::get<1>(d));
    CHECK(env->max_episode_steps() == std::get<2>(d));
    CHECK(envs::env_spec(id).max_episode_steps == std::get<2>(d));
    CHECK(env->reset().size() == static_cast<size_t>(std::get<0>(d)));
  }
  CHECK(envs::env_spec("swimmer").gym_id == "Swimmer-v5");                 // a bare name without a v3 row: its newest
  CHECK(std::isnan(envs::score_reference("Reacher-v5").normalize(-4.0)));  // no published references
}

TEST_CASE("env versions: InvertedPendulum-v5 pays 1 per upright step, 0 on the falling one, actions clipped to +-3",
          "[envs]") {
  envs::InvertedPendulum env;
  env.seed(1);
  env.reset();
  for (double q : env.qpos()) CHECK(std::abs(q) <= 0.01);
  auto r = env.step({0.0});
  CHECK(r.reward == 1.0);
  CHECK_FALSE(r.terminated);
  // Past 0.2 rad: terminated, reward 0.
  auto q = env.qpos(), v = env.qvel();
  q[1] = 0.3;
  env.set_state(q.data(), v.data());
  r = env.step({0.0});
  CHECK(r.terminated);
  CHECK(r.reward == 0.0);
  // The motor's range is [-3, 3]: 2.5 is applied as it is, 5 is clipped to 3.
  env.reset();
  env.step({2.5});
  CHECK(env.data()->ctrl[0] == 2.5);
  env.step({5.0});
  CHECK(env.data()->ctrl[0] == 3.0);
}

TEST_CASE("env versions: InvertedDoublePendulum-v5's observation, reward terms and tip rule", "[envs]") {
  envs::InvertedDoublePendulum env;
  env.seed(2);
  env.reset();
  const auto r = env.step({0.2});
  const mjData* d = env.data();
  const auto& obs = env.observation();
  CHECK(obs[0] == d->qpos[0]);
  CHECK(obs[1] == std::sin(d->qpos[1]));
  CHECK(obs[2] == std::sin(d->qpos[2]));
  CHECK(obs[3] == std::cos(d->qpos[1]));
  CHECK(obs[4] == std::cos(d->qpos[2]));
  for (int i = 0; i < 3; ++i) CHECK(obs[5 + i] == std::clamp(d->qvel[i], -10.0, 10.0));
  CHECK(obs[8] == std::clamp(d->qfrc_constraint[0], -10.0, 10.0));
  const double x = d->site_xpos[0], z = d->site_xpos[2];
  CHECK(z > 1.0);
  REQUIRE_FALSE(r.terminated);
  CHECK(r.reward == Approx(10 - (0.01 * x * x + (z - 2) * (z - 2)) -
                           (1e-3 * d->qvel[1] * d->qvel[1] + 5e-3 * d->qvel[2] * d->qvel[2]))
                        .margin(1e-12));
  // Both poles tipped over: the tip falls below z = 1, the episode ends and pays no alive bonus.
  auto q = env.qpos(), v = env.qvel();
  q[1] = 2.0;
  env.set_state(q.data(), v.data());
  const auto fell = env.step({0.0});
  CHECK(fell.terminated);
  const double xf = env.data()->site_xpos[0], zf = env.data()->site_xpos[2];
  CHECK(fell.reward == Approx(-(0.01 * xf * xf + (zf - 2) * (zf - 2)) -
                              (1e-3 * std::pow(env.data()->qvel[1], 2) + 5e-3 * std::pow(env.data()->qvel[2], 2)))
                           .margin(1e-12));
}

TEST_CASE("env versions: Reacher-v5's goal, observation, reward and 50-step episodes", "[envs]") {
  envs::Reacher env;
  std::mt19937_64 rng(4);
  for (uint64_t seed = 0; seed < 20; ++seed) {
    env.seed(seed);
    env.reset();
    const auto q = env.qpos(), v = env.qvel();
    CHECK(std::hypot(q[2], q[3]) < 0.2);  // the goal, drawn until inside the disc
    CHECK(std::abs(q[0]) <= 0.1);
    CHECK(std::abs(v[0]) <= 0.005);
    CHECK(v[2] == 0.0);
    CHECK(v[3] == 0.0);
  }
  const std::vector<double> action{0.3, -0.4};
  const auto r = env.step(action);
  const mjData* d = env.data();
  const int tip = mj_name2id(env.model(), mjOBJ_BODY, "fingertip"),
            target = mj_name2id(env.model(), mjOBJ_BODY, "target");
  const double dx = d->xpos[3 * tip] - d->xpos[3 * target], dy = d->xpos[3 * tip + 1] - d->xpos[3 * target + 1],
               dz = d->xpos[3 * tip + 2] - d->xpos[3 * target + 2];
  CHECK(r.reward == Approx(-std::sqrt(dx * dx + dy * dy + dz * dz) - (0.09 + 0.16)).margin(1e-12));
  const auto& obs = env.observation();
  CHECK(obs[0] == std::cos(d->qpos[0]));
  CHECK(obs[2] == std::sin(d->qpos[0]));
  CHECK(obs[4] == d->qpos[2]);
  CHECK(obs[8] == dx);
  CHECK(obs[9] == dy);
  int steps = 1;
  for (bool done = false; !done; ++steps) {
    const auto s = env.step(random_action(rng, 2));
    CHECK_FALSE(s.terminated);
    done = s.truncated;
  }
  CHECK(steps == 50);
}

TEST_CASE("env versions: Swimmer-v5's reward is qpos[0]'s velocity minus 1e-4 |a|^2, and it never terminates",
          "[envs]") {
  envs::Swimmer env;
  env.seed(5);
  env.reset();
  for (double q : env.qpos()) CHECK(std::abs(q) <= 0.1);
  const double x0 = env.qpos()[0];
  const std::vector<double> action{0.5, -1.0};
  const auto r = env.step(action);
  CHECK(r.reward == Approx((env.qpos()[0] - x0) / 0.04 - 1e-4 * 1.25).margin(1e-12));
  CHECK(env.observation()[0] == env.qpos()[2]);
  CHECK(env.observation()[3] == env.qvel()[0]);
  std::mt19937_64 rng(5);
  int64_t steps = 1;
  for (bool done = false; !done; ++steps) {
    const auto s = env.step(random_action(rng, 2));
    CHECK_FALSE(s.terminated);
    done = s.truncated;
  }
  CHECK(steps == 1000);
}

TEST_CASE("env versions: Pusher-v5's start, observation, reward after the step and 100-step episodes", "[envs]") {
  envs::Pusher env;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    env.seed(seed);
    env.reset();
    const auto q = env.qpos(), v = env.qvel();
    for (int i = 0; i < 7; ++i) CHECK(q[i] == 0.0);  // the arm starts at qpos0 exactly
    CHECK(std::hypot(q[7], q[8]) > 0.17);
    CHECK((q[7] >= -0.3 && q[7] <= 0.0));
    CHECK(std::abs(q[8]) <= 0.2);
    CHECK(q[9] == 0.0);
    CHECK(q[10] == 0.0);
    for (int i = 0; i < 7; ++i) CHECK(std::abs(v[i]) <= 0.005);
    for (int i = 7; i < 11; ++i) CHECK(v[i] == 0.0);
  }
  const std::vector<double> action{0.5, -0.5, 1.0, -1.0, 1.5, -1.5, 2.5};  // the last clipped to 2
  const auto r = env.step(action);
  const mjData* d = env.data();
  auto body = [&](const char* name) { return mj_name2id(env.model(), mjOBJ_BODY, name); };
  auto distance = [&](int a, int b) {
    return std::sqrt(std::pow(d->xpos[3 * a] - d->xpos[3 * b], 2) +
                     std::pow(d->xpos[3 * a + 1] - d->xpos[3 * b + 1], 2) +
                     std::pow(d->xpos[3 * a + 2] - d->xpos[3 * b + 2], 2));
  };
  const int tips = body("tips_arm"), object = body("object"), goal = body("goal");
  double ctrl = 0;  // charged on the action as given (pusher_v5.py: np.square(action)); the motor gets 2
  for (double a : action) ctrl += a * a;
  CHECK(d->ctrl[6] == 2.0);
  CHECK(r.reward == Approx(-0.5 * distance(object, tips) - distance(object, goal) - 0.1 * ctrl).margin(1e-12));
  CHECK(distance(object, goal) >= 0.048 - 1e-12);  // the object and the goal disc sit at different heights
  const auto& obs = env.observation();
  CHECK(obs[0] == d->qpos[0]);
  CHECK(obs[7] == d->qvel[0]);
  CHECK(obs[14] == d->xpos[3 * tips]);
  CHECK(obs[17] == d->xpos[3 * object]);
  CHECK(obs[22] == d->xpos[3 * goal + 2]);
  std::mt19937_64 rng(6);
  int steps = 1;
  for (bool done = false; !done; ++steps) {
    const auto s = env.step(random_action(rng, 7, 2.0));
    CHECK_FALSE(s.terminated);
    done = s.truncated;
  }
  CHECK(steps == 100);
}

TEST_CASE("env versions: Humanoid-v5's 348-dim observation, reward terms and the healthy rule", "[envs]") {
  envs::Humanoid env;
  env.seed(7);
  env.reset();
  std::mt19937_64 rng(7);
  // Random actions until contacts push (non-zero cfrc_ext) or the episode ends.
  bool touched = false;
  for (int t = 0; t < 300 && !touched; ++t) {
    const auto r = env.step(random_action(rng, 17, 0.4));
    for (int i = 6; i < 6 * 14; ++i) touched = touched || env.data()->cfrc_ext[i] != 0.0;
    if (r.terminated) break;
  }
  CHECK(touched);
  const mjData* d = env.data();
  const auto& obs = env.observation();
  REQUIRE(obs.size() == 348);
  for (int i = 0; i < 22; ++i) CHECK(obs[i] == d->qpos[2 + i]);
  for (int i = 0; i < 23; ++i) CHECK(obs[22 + i] == d->qvel[i]);
  for (int i = 0; i < 130; ++i) CHECK(obs[45 + i] == d->cinert[10 + i]);
  for (int i = 0; i < 78; ++i) CHECK(obs[175 + i] == d->cvel[6 + i]);
  for (int i = 0; i < 17; ++i) CHECK(obs[253 + i] == d->qfrc_actuator[6 + i]);
  for (int i = 0; i < 78; ++i) CHECK(obs[270 + i] == d->cfrc_ext[6 + i]);

  // One step from a healthy start: 1.25 x-velocity of the mass centre + 5 - 0.1 |a|^2 - contact cost.
  env.reset();
  const double x_before = env.mass_centre_x();
  std::vector<double> action(17, 0.2);
  action[0] = 0.9;  // the motor gets 0.4; the cost charges 0.9
  const auto r = env.step(action);
  double ctrl = 0, contact = 0;
  for (double a : action) ctrl += a * a;  // humanoid_v5.py charges data.ctrl, the action as given
  for (int i = 0; i < 6 * 14; ++i) contact += d->cfrc_ext[i] * d->cfrc_ext[i];
  CHECK(d->ctrl[0] == 0.4);
  REQUIRE_FALSE(r.terminated);
  CHECK(r.reward ==
        Approx(1.25 * (env.mass_centre_x() - x_before) / 0.015 + 5.0 - 0.1 * ctrl - std::min(5e-7 * contact, 10.0))
            .margin(1e-9));
  // Below z = 1: terminated, and no healthy reward.
  auto q = env.qpos(), v = env.qvel();
  q[2] = 0.9;
  env.set_state(q.data(), v.data());
  const double x0 = env.mass_centre_x();
  const auto fell = env.step(std::vector<double>(17, 0.0));
  double contact2 = 0;
  for (int i = 0; i < 6 * 14; ++i) contact2 += d->cfrc_ext[i] * d->cfrc_ext[i];
  CHECK(fell.terminated);
  CHECK(fell.reward ==
        Approx(1.25 * (env.mass_centre_x() - x0) / 0.015 - std::min(5e-7 * contact2, 10.0)).margin(1e-9));
}
