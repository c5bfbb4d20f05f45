// `aaren envs`, `aaren rollout --policy random` and `aaren bench env` end to end.
#include <torch/torch.h>

#include <cmath>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "tests/apps/run_aaren.h"

using aaren::testing::run_aaren;
using aaren::testing::run_shell;

TEST_CASE("cli: envs lists every env with its dims", "[cli][envs]") {
  auto r = run_aaren("envs --json", false);
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.output);
  REQUIRE(j.size() >= 12);  // {hopper, halfcheetah, walker2d, ant} x {v3, v4, v5}
  CHECK(j[0]["name"] == "hopper");
  CHECK(j[0]["version"] == "v3");
  CHECK(j[0]["obs_dim"] == 11);
  std::map<std::string, int64_t> obs;
  for (const auto& row : j) obs[row["gym_id"]] = row["obs_dim"];
  CHECK(obs.at("Ant-v3") == 111);
  CHECK(obs.at("Ant-v4") == 27);
  CHECK(obs.at("Ant-v5") == 105);
}

TEST_CASE("cli: rollout with a random policy reports returns, lengths, scores, seeded", "[cli][envs][environment]") {
  auto a = run_aaren("rollout --env hopper-medium-v2 --policy random --episodes 6 --seed 4 --json", false);
  REQUIRE(a.exit_code == 0);
  auto j = nlohmann::json::parse(a.output);
  REQUIRE(j["returns"].size() == 6);
  REQUIRE(j["lengths"].size() == 6);
  REQUIRE(j["scores"].size() == 6);
  const double ret = j["returns"][0];
  CHECK(j["scores"][0].get<double>() == Approx(100 * (ret + 20.272305) / (3234.3 + 20.272305)));
  // The spread printed is the sample std over the episodes (divisor n - 1).
  for (const std::string key : {"returns", "scores"}) {
    const auto values = j[key].get<std::vector<double>>();
    double mean = 0, squares = 0;
    for (double v : values) mean += v / values.size();
    for (double v : values) squares += (v - mean) * (v - mean);
    const std::string std_key = key == "returns" ? "return_std" : "score_std";
    CHECK(j[std_key].get<double>() == Approx(std::sqrt(squares / (values.size() - 1))));
  }
  // Random hopper episodes end quickly by falling.
  CHECK(j["lengths"][0].get<double>() < 200);
  auto b = run_aaren("rollout --env hopper-medium-v2 --episodes 6 --seed 4 --json", false);
  CHECK(nlohmann::json::parse(b.output)["returns"] == j["returns"]);
  auto c = run_aaren("rollout --env hopper-medium-v2 --episodes 6 --seed 5 --json", false);
  CHECK(nlohmann::json::parse(c.output)["returns"] != j["returns"]);
  // HalfCheetah only ends at the time limit.
  auto h = run_aaren("rollout --env HalfCheetah-v3 --episodes 1 --json", false);
  CHECK(nlohmann::json::parse(h.output)["lengths"][0] == 1000);
}

TEST_CASE("cli: rollout rejects unknown envs and unreadable models", "[cli][envs]") {
  auto r = run_aaren("rollout --env pong");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("unknown env 'pong'") && Catch::Contains("hopper"));
  // Misspelt: an env, a flag, a dataset name: one line with the likely name.
  r = run_aaren("rollout --env hoper");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("unknown env 'hoper' (did you mean 'hopper'?)"));
  r = run_aaren("rollout --env hopper --episods 2");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("(did you mean '--episodes'?)"));
  r = run_aaren("data inspect hoper-medium-v2");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("dataset 'hoper-medium-v2' (did you mean 'hopper-medium-v2'?)"));
  CHECK(r.output.find("--dataset") == std::string::npos);  // data inspect has no such flag
  // A known name that is not installed: said so, with no suggestion of another version of it.
  r = run_shell("D4RL_DATASET_DIR=/nonexistent MINARI_DATASETS_PATH=/nonexistent " + std::string(AAREN_BINARY) +
                " data inspect hopper-medium-replay-v2 2>&1");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("dataset 'hopper-medium-replay-v2': no such file, no D4RL dataset"));
  CHECK(r.output.find("did you mean") == std::string::npos);
  r = run_aaren("rollout --env hopper --model-xml /nonexistent.xml");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("/nonexistent.xml"));
  r = run_aaren("rollout --env hopper --policy clever");
  CHECK(r.exit_code == 2);
}

TEST_CASE("cli: bench env runs", "[cli][envs]") {
  auto r = run_aaren("bench env --envs hopper --steps 200 --vector-steps 20 --num-envs 4 --json", false);
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.output);
  REQUIRE(j["rows"].size() == 1);
  // The table's arithmetic (timings themselves are the benchmark's business, not a test's):
  // overhead = our step / raw mj_step, speedup = 2 threads / 1 thread, all positive and finite.
  const auto& row = j["rows"][0];
  const double env_us = row["env_us_per_step"], raw_us = row["raw_us_per_step"];
  CHECK(env_us > 0);
  CHECK(raw_us > 0);
  CHECK(row["overhead"].get<double>() == Approx(env_us / raw_us).epsilon(1e-9));
  CHECK(row["thread_speedup"].get<double>() ==
        Approx(row["vec4_t2_steps_per_s"].get<double>() / row["vec4_t1_steps_per_s"].get<double>()).epsilon(1e-9));
  CHECK(row["frame_skip"] == 4);
}
