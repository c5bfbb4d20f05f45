// `aaren collect`, `aaren train`, `aaren rollout --checkpoint`, `aaren compare` end to end, and their errors.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "tests/apps/run_aaren.h"
#include "tests/data/fixtures.h"

using aaren::testing::run_aaren;

namespace {
// loss: each agent's action error on its data (whole episodes for Aaren, DT's windows for the
// Transformer) and on fresh episodes of the same policy; the same seed, the same number; clear errors.
void check_loss_command(const std::string& dir) {
  aaren::testing::RunResult r;
  REQUIRE(run_aaren("collect --env hopper --policy random --transitions 200 --seed 3 --out " + dir + "/fresh.hdf5")
              .exit_code == 0);
  for (const std::string data : {"d", "fresh"}) {
    r = run_aaren("loss --checkpoint " + dir + "/aaren/checkpoint.pt --dataset " + dir + "/" + data + ".hdf5 --json",
                  false);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    const auto loss = nlohmann::json::parse(r.output);
    CHECK(loss["regime"] == "episodes");
    CHECK(loss["mse"].get<double>() > 0);
    CHECK(loss["steps"].get<int64_t>() > 0);
  }
  const std::string windows = "loss --checkpoint " + dir + "/transformer/checkpoint.pt --dataset " + dir +
                              "/fresh.hdf5 --batches 3 --seed 4 --json";
  r = run_aaren(windows, false);
  REQUIRE(r.exit_code == 0);
  const auto first = nlohmann::json::parse(r.output), again = nlohmann::json::parse(run_aaren(windows, false).output);
  CHECK(first["regime"] == "windows");
  CHECK(first["mse"] == again["mse"]);
  CHECK(first["provenance"].contains("commit"));
  REQUIRE(run_aaren("collect --env walker2d --policy random --transitions 100 --seed 3 --out " + dir + "/w.hdf5")
              .exit_code == 0);
  r = run_aaren("loss --checkpoint " + dir + "/aaren/checkpoint.pt --dataset " + dir + "/w.hdf5");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains(dir + "/w.hdf5: 17-dim states; the agent's have 11"));
  r = run_aaren("loss --checkpoint " + dir + "/aaren/checkpoint.pt --dataset " + dir + "/d.hdf5 --batches 0");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("--batches must be > 0"));
}

// A checkpoint for another env, a corrupt one, a bad mode, a bad backbone, a missing dataset: each
// refused with exit status 2 and a line naming what was wrong.
void check_refused_inputs(const std::string& dir) {
  auto r = run_aaren("rollout --checkpoint " + dir + "/aaren/checkpoint.pt --env walker2d --episodes 1");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("trained for obs/act dims 11/3, env walker2d has 17/6"));
  std::ofstream(dir + "/bad.pt") << "garbage";
  r = run_aaren("rollout --checkpoint " + dir + "/bad.pt");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("bad.pt"));
  r = run_aaren("rollout --checkpoint " + dir + "/aaren/checkpoint.pt --mode kvcache");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("--mode kvcache: the aaren backbone acts in recurrent"));
  r = run_aaren("rollout --checkpoint " + dir + "/aaren/checkpoint.pt --mode sideways");
  CHECK(r.exit_code == 2);  // the parser train's --eval-mode uses: the same line
  CHECK_THAT(r.output, Catch::Contains("--mode must be auto, recurrent, window or kvcache, got 'sideways'"));
  r = run_aaren("train --dataset " + dir + "/d.hdf5 --backbone gru --out " + dir + "/x");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("--backbone must be aaren, transformer or lstm"));
  r = run_aaren("train --dataset " + dir + "/missing.hdf5 --out " + dir + "/x");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("missing.hdf5: no such file"));
}

// compare reads every checkpoint before its first rollout: a damaged or missing one among good ones is
// refused at once, in one line, with no episode run and no --csv written.
void check_compare_refuses_before_rollouts(const std::string& dir) {
  const std::string good = dir + "/aaren/checkpoint.pt", csv = dir + "/compared.csv";
  std::ofstream(dir + "/damaged.pt") << aaren::testing::text_of(good).substr(0, 1000);
  for (const std::string& bad : {dir + "/damaged.pt", dir + "/missing.pt"})
    aaren::testing::check_refused_in_one_line("compare " + good + " " + bad + " --episodes 1 --csv " + csv, bad);
  CHECK_FALSE(std::filesystem::exists(csv));
}
}  // namespace

TEST_CASE("cli: collect -> train -> rollout -> compare, with clear errors for bad inputs", "[cli][decision]") {
  const auto dir = aaren::testing::temp_dir("agent_cli");
  auto r = run_aaren("collect --env hopper --policy random --transitions 400 --seed 2 --out " + dir + "/d.hdf5");
  REQUIRE(r.exit_code == 0);
  REQUIRE(run_aaren("data validate " + dir + "/d.hdf5").exit_code == 0);
  const std::string small = " --embed-dim 16 --layers 1 --updates 3 --warmup 1 --eval-episodes 1 --threads 1";
  for (std::string kind : {"aaren", "transformer", "lstm"}) {
    r = run_aaren("train --dataset " + dir + "/d.hdf5 --backbone " + kind + " --out " + dir + "/" + kind + small);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    std::ifstream config(dir + "/" + kind + "/config.json");
    CHECK(config.good());
  }
  check_loss_command(dir);
  check_compare_refuses_before_rollouts(dir);

  r = run_aaren("rollout --checkpoint " + dir + "/aaren/checkpoint.pt --episodes 2 --json", false);
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.output);
  CHECK(j["returns"].size() == 2);
  CHECK(j["policy_state_bytes"].get<int64_t>() > 0);
  r = run_aaren("compare " + dir + "/aaren/checkpoint.pt " + dir + "/transformer/checkpoint.pt " + dir +
                    "/lstm/checkpoint.pt --episodes 1 --json --dataset " + dir + "/d.hdf5",
                false);
  REQUIRE(r.exit_code == 0);
  // aaren recurrent, lean; transformer window, kvcache; lstm recurrent, window, lean
  const auto compared = nlohmann::json::parse(r.output);
  CHECK(compared["rows"].size() == 7);
  // The data's mean return beside the rows: the complete episodes' mean, as `data inspect` counts them.
  const auto inspected = nlohmann::json::parse(run_aaren("data inspect " + dir + "/d.hdf5 --json", false).output);
  CHECK(compared["dataset_return_mean"].get<double>() == Approx(inspected["return_mean"].get<double>()));

  // The lean runtime: exported, it acts as the LibTorch policy does.
  const double torch_return = j["return_mean"].get<double>();
  r = run_aaren("rollout --checkpoint " + dir + "/aaren/checkpoint.pt --episodes 2 --runtime lean --json", false);
  REQUIRE(r.exit_code == 0);
  CHECK(nlohmann::json::parse(r.output)["return_mean"].get<double>() == Approx(torch_return).epsilon(1e-4));
  // The LSTM too: recurrent by default, and lean == LibTorch through the CLI.
  const std::string lstm = "rollout --checkpoint " + dir + "/lstm/checkpoint.pt --episodes 2 --json --runtime ";
  r = run_aaren(lstm + "torch", false);
  REQUIRE(r.exit_code == 0);
  j = nlohmann::json::parse(r.output);
  CHECK(j["config"]["mode"] == "recurrent");
  const double lstm_torch = j["return_mean"].get<double>();
  r = run_aaren(lstm + "lean", false);
  REQUIRE(r.exit_code == 0);
  CHECK(nlohmann::json::parse(r.output)["return_mean"].get<double>() == Approx(lstm_torch).epsilon(1e-4));
  r = run_aaren("export --checkpoint " + dir + "/aaren/checkpoint.pt --out " + dir + "/aaren.policy");
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("Hopper-v3"));
  r = run_aaren("export --checkpoint " + dir + "/lstm/checkpoint.pt --out " + dir + "/aaren.policy");
  CHECK(r.exit_code == 2);  // the policy file there is kept
  CHECK_THAT(r.output, Catch::Contains("aaren.policy: exists (left as it is); replace it with --overwrite"));
  // The example program: runtime and env only.
  r = aaren::testing::run_program(AAREN_LEAN_EXAMPLE, dir + "/aaren.policy 2", false);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("Hopper-v3: mean return"));
  r = aaren::testing::run_program(AAREN_LEAN_EXAMPLE, dir + "/d.hdf5");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("d.hdf5") && Catch::Contains("AARENPOL"));
  r = run_aaren("export --checkpoint " + dir + "/transformer/checkpoint.pt --out " + dir + "/t.policy");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("does not run transformer policies"));
  CHECK_FALSE(std::ifstream(dir + "/t.policy").good());
  r = run_aaren("rollout --checkpoint " + dir + "/transformer/checkpoint.pt --runtime lean");
  CHECK(r.exit_code == 2);
  r = run_aaren("rollout --checkpoint " + dir + "/aaren/checkpoint.pt --runtime onnx");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("--runtime must be torch or lean"));

  check_refused_inputs(dir);
}

TEST_CASE("cli: rollout of a checkpoint without --env acts in the checkpoint's env", "[cli][decision]") {
  // A HalfCheetah agent (rollout's own default env is Hopper, whose sizes differ).
  const auto dir = aaren::testing::temp_dir("cli_env_default");
  auto r = run_aaren("collect --env halfcheetah --policy random --episodes 1 --out " + dir + "/hc.hdf5");
  REQUIRE(r.exit_code == 0);
  r = run_aaren("train --dataset " + dir + "/hc.hdf5 --backbone aaren --embed-dim 16 --layers 1 --updates 1 " +
                "--aaren-batch 1 --eval-episodes 1 --threads 1 --out " + dir + "/run");
  REQUIRE(r.exit_code == 0);
  r = run_aaren("rollout --checkpoint " + dir + "/run/checkpoint.pt --episodes 1 --json", false);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(nlohmann::json::parse(r.output).at("config").at("env") == "HalfCheetah-v3");
}

// The states of the measured file go through the agent's training statistics: the same file with every
// state moved by 100 is another file to the agent (its own statistics would cancel the move).
TEST_CASE("cli: loss normalises the measured file's states with the agent's statistics", "[cli][decision]") {
  REQUIRE_H5PY();
  const auto dir = aaren::testing::temp_dir("loss_cli");
  REQUIRE(
      run_aaren("collect --env hopper --policy random --transitions 300 --seed 2 --out " + dir + "/d.hdf5").exit_code ==
      0);
  REQUIRE(run_aaren("train --dataset " + dir + "/d.hdf5 --backbone transformer --embed-dim 16 --layers 1 --updates 3 " +
                    "--warmup 1 --eval-episodes 1 --eval-every 3 --threads 1 --out " + dir + "/t")
              .exit_code == 0);
  const auto moved = aaren::testing::run_shell(
      "/usr/bin/python3 -c \"import h5py, shutil, sys; shutil.copy(sys.argv[1], sys.argv[2]); "
      "f = h5py.File(sys.argv[2], 'r+'); f['observations'][...] += 100; f['next_observations'][...] += 100\" " +
      dir + "/d.hdf5 " + dir + "/moved.hdf5");
  REQUIRE(moved.exit_code == 0);
  auto mse = [&](const std::string& file) {
    const auto r = run_aaren(
        "loss --checkpoint " + dir + "/t/checkpoint.pt --dataset " + dir + "/" + file + " --batches 4 --json", false);
    REQUIRE(r.exit_code == 0);
    return nlohmann::json::parse(r.output)["mse"].get<double>();
  };
  const double same = mse("d.hdf5"), other = mse("moved.hdf5");
  CHECK(std::abs(other - same) > 0.05 * same);
}
