// `aaren data inspect|validate` end to end.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "tests/apps/run_aaren.h"
#include "tests/data/fixtures.h"

using aaren::testing::h5py_fixtures;
using aaren::testing::run_aaren;

TEST_CASE("cli: data inspect --json reports the required keys and the normalised score", "[cli][data][environment]") {
  REQUIRE_H5PY();
  // The env comes from the D4RL-style file name (and metadata/env_name).
  auto r = run_aaren("data inspect " + h5py_fixtures() + "/hopper-medium-v2.hdf5 --json", false);
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.output);
  CHECK(j["transitions"] == 10);
  CHECK(j["obs_dim"] == 4);
  CHECK(j["act_dim"] == 2);
  CHECK(j["episodes"] == 2);
  CHECK(j["episodes_terminal"] == 1);
  CHECK(j["episodes_timeout"] == 1);
  CHECK(j["partial_steps"] == 3);
  CHECK(j["return_min"] == 10.0);
  CHECK(j["return_mean"] == 14.0);
  CHECK(j["return_max"] == 18.0);
  CHECK(j["env"] == "Hopper-v3");
  CHECK(j["score_mean"].get<double>() == Approx(100 * (14.0 + 20.272305) / (3234.3 + 20.272305)));

  // --env overrides; an unknown env is a usage error.
  r = run_aaren("data inspect " + h5py_fixtures() + "/f32_bool.hdf5 --env walker2d-medium-v2 --json", false);
  REQUIRE(r.exit_code == 0);
  CHECK(nlohmann::json::parse(r.output)["env"] == "Walker2d-v3");
  r = run_aaren("data inspect " + h5py_fixtures() + "/f32_bool.hdf5 --env pong");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("--env 'pong'"));

  // --keep-partial counts the trailing steps as an episode.
  r = run_aaren("data inspect " + h5py_fixtures() + "/f32_bool.hdf5 --keep-partial --json", false);
  CHECK(nlohmann::json::parse(r.output)["episodes"] == 3);
}

TEST_CASE("cli: data validate exits 0 on good files and 2 with one line on bad ones", "[cli][data]") {
  REQUIRE_H5PY();
  auto r = run_aaren("data validate " + h5py_fixtures() + "/f64_rew2d_uint8.hdf5");
  CHECK(r.exit_code == 0);
  for (const std::string bad : {"bad_nan.hdf5", "bad_truncated.hdf5", "bad_not_hdf5.hdf5", "bad_length.hdf5"}) {
    r = run_aaren("data validate " + h5py_fixtures() + "/" + bad);
    INFO(r.output);
    CHECK(r.exit_code == 2);
    CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
    CHECK_THAT(r.output, Catch::Contains(bad));
  }
  r = run_aaren("data validate");
  CHECK(r.exit_code == 2);
}
