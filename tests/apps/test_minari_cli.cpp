// The modern ecosystem end to end: Minari's MuJoCo datasets (recorded in
// Gymnasium's v5) by name through train and rollout, scored with the dataset's
// own references as minari.get_normalized_score scores them; and an env
// version (Ant-v4) surviving collect -> train -> rollout.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "tests/apps/run_aaren.h"
#include "tests/data/fixtures.h"

using aaren::testing::read_json;
using aaren::testing::run_aaren;

namespace {
// A few updates of a small model: enough to write a checkpoint and evaluate once.
const std::string kTiny =
    " --backbone aaren --embed-dim 16 --layers 1 --updates 2 --eval-episodes 1 --threads 1 --aaren-batch 2";

// Checks a rollout's JSON: the env it ran in and scores 100 (R - min) / (max - min).
void check_scored(const nlohmann::json& j, const std::string& env, double min, double max) {
  CHECK(j.at("config").at("env") == env);
  CHECK(j.at("config").at("score_references") == nlohmann::json::array({min, max}));
  const auto& returns = j.at("returns");
  const auto& scores = j.at("scores");
  REQUIRE(returns.size() == scores.size());
  for (size_t i = 0; i < returns.size(); ++i)
    CHECK(scores[i].get<double>() == Approx(100 * (returns[i].get<double>() - min) / (max - min)));
}
}  // namespace

TEST_CASE("cli: Minari's MuJoCo datasets train and act in their recorded v5 env, scored with their references",
          "[cli][data][minari]") {
  REQUIRE_H5PY();
  const auto dir = aaren::testing::temp_dir("minari_e2e");
  const auto root = dir + "/datasets";
  std::filesystem::copy(aaren::testing::h5py_fixtures() + "/minari-mujoco", root,
                        std::filesystem::copy_options::recursive);
  ::setenv("MINARI_DATASETS_PATH", root.c_str(), 1);
  // robot -> (id, the fixture's references: make_fixtures.py)
  const std::map<std::string, std::string> ids{{"hopper", "Hopper-v5"},
                                               {"halfcheetah", "HalfCheetah-v5"},
                                               {"walker2d", "Walker2d-v5"},
                                               {"ant", "Ant-v5"},
                                               {"invertedpendulum", "InvertedPendulum-v5"},
                                               {"inverteddoublependulum", "InvertedDoublePendulum-v5"},
                                               {"reacher", "Reacher-v5"},
                                               {"pusher", "Pusher-v5"},
                                               {"humanoid", "Humanoid-v5"},
                                               {"swimmer", "Swimmer-v5"}};
  for (const auto& [robot, id] : ids) {
    INFO(robot);
    const double min = -10.0 * robot.size(), max = 1000.0 + robot.size();
    const std::string name = "mujoco/" + robot + "/medium-v0", out = dir + "/" + robot;
    auto r = run_aaren("train --dataset " + name + kTiny + " --out " + out);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    const auto config = read_json(out + "/config.json");
    CHECK(config.at("env") == id);
    CHECK(config.at("score_references") == nlohmann::json::array({min, max}));
    r = run_aaren("rollout --checkpoint " + out + "/checkpoint.pt --episodes 2 --json", false);
    REQUIRE(r.exit_code == 0);
    check_scored(nlohmann::json::parse(r.output), id, min, max);
  }
  // A bare --env of the data's robot takes the data's version (and references).
  auto bare = run_aaren("train --dataset mujoco/hopper/medium-v0 --env hopper" + kTiny + " --out " + dir + "/bare");
  REQUIRE(bare.exit_code == 0);
  CHECK(read_json(dir + "/bare/config.json").at("env") == "Hopper-v5");
  CHECK(read_json(dir + "/bare/config.json").at("score_references") == nlohmann::json::array({-60.0, 1006.0}));
  // References: two different finite returns, or refused in one line before any work.
  bare = run_aaren("train --dataset mujoco/hopper/medium-v0 --score-references 5" + kTiny + " --out " + dir + "/refs");
  CHECK(bare.exit_code == 2);
  CHECK(bare.output.find("--score-references takes two different finite returns") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir + "/refs"));
  // The dataset's own references score its own env only.
  bare = run_aaren("data inspect mujoco/hopper/medium-v0 --env Walker2d-v5 --json", false);
  REQUIRE(bare.exit_code == 0);
  CHECK(nlohmann::json::parse(bare.output).at("reference_source") == "D4RL");
  // data list and inspect show the references.
  auto r = run_aaren("data inspect mujoco/ant/medium-v0 --json", false);
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.output);
  CHECK(j.at("env") == "Ant-v5");
  CHECK(j.at("ref_min_score") == -30.0);
  CHECK(j.at("reference_source") == "dataset (ref_min_score, ref_max_score)");
  r = run_aaren("data list --json", false);
  REQUIRE(r.exit_code == 0);
  j = nlohmann::json::parse(r.output).at("datasets");
  REQUIRE(j.size() == ids.size());
  for (const auto& row : j) CHECK(row.contains("ref_max_score"));

  // Without metadata.json the id in the folder names the robot; the version is Minari's (v5), said so,
  // and the scores fall back on D4RL's references.
  std::filesystem::remove(root + "/mujoco/hopper/medium-v0/data/metadata.json");
  r = run_aaren("train --dataset mujoco/hopper/medium-v0" + kTiny + " --out " + dir + "/no-metadata");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("Hopper-v5 (no env_spec: Minari's MuJoCo datasets were recorded in Gymnasium's v5)") !=
        std::string::npos);
  const auto config = read_json(dir + "/no-metadata/config.json");
  CHECK(config.at("env") == "Hopper-v5");
  CHECK(config.at("score_references") == nlohmann::json::array({-20.272305, 3234.3}));
  ::unsetenv("MINARI_DATASETS_PATH");
}

TEST_CASE("cli: Ant-v4 data collect, train and act in Ant-v4 (27-dim observations)", "[cli][data]") {
  const auto dir = aaren::testing::temp_dir("ant_v4");
  auto r = run_aaren("collect --env Ant-v4 --episodes 2 --seed 3 --out " + dir + "/ant4.hdf5");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  r = run_aaren("data inspect " + dir + "/ant4.hdf5 --json", false);
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.output);
  CHECK(j.at("env") == "Ant-v4");
  CHECK(j.at("obs_dim") == 27);
  r = run_aaren("train --dataset " + dir + "/ant4.hdf5" + kTiny + " --out " + dir + "/run");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(read_json(dir + "/run/config.json").at("env") == "Ant-v4");
  r = run_aaren("rollout --checkpoint " + dir + "/run/checkpoint.pt --episodes 1 --json", false);
  REQUIRE(r.exit_code == 0);
  check_scored(nlohmann::json::parse(r.output), "Ant-v4", -325.6, 3879.7);
  // The same data against Ant-v3's 111-dim row: refused in one line naming both sizes.
  r = run_aaren("train --dataset " + dir + "/ant4.hdf5 --env Ant-v3" + kTiny + " --out " + dir + "/v3");
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("--env Ant-v3: observations/actions 111/8, but " + dir + "/ant4.hdf5 has 27/8") !=
        std::string::npos);
}
