// End-to-end tests of the `aaren` program itself.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/apps/run_aaren.h"
#include "tests/data/fixtures.h"

using aaren::testing::run_aaren;

namespace {
aaren::testing::RunResult run_aaren_stdout(const std::string& args) { return run_aaren(args, false); }
}  // namespace

TEST_CASE("cli: help lists the commands", "[cli]") {
  auto r = run_aaren("--help");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("bench"));
  r = run_aaren("bench --help");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("scan"));
  r = run_aaren("bench scan --help");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("--lengths"));
}

TEST_CASE("cli: bad commands and flags give one-line errors and exit 2", "[cli]") {
  auto r = run_aaren("frobnicate");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("unknown command 'frobnicate'"));
  r = run_aaren("bench scan --no-such-flag");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("no-such-flag"));
  r = run_aaren("bench scan --batch abc");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("batch"));
  r = run_aaren("bench scan --heads 3");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("--heads must divide"));
}

TEST_CASE("cli: bench scan runs and reports errors against the brute force", "[cli]") {
  const auto dir = aaren::testing::temp_dir("cli_bench");
  const std::string csv = dir + "/bench_scan.csv";
  auto r = run_aaren_stdout("bench scan --lengths 1 50 --heads 2 --batch 2 --d-model 16 --min-rounds 1 "
                            "--min-seconds 0 --json --csv " + csv);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.output);
  REQUIRE(j["rows"].size() == 2);
  for (const auto& row : j["rows"]) {
    CHECK(row["fast_max_err"].get<double>() < 1e-5);
    CHECK(row["ref_max_err"].get<double>() < 1e-5);
    CHECK(row["attn_max_err"].get<double>() < 1e-5);
    CHECK(row["fast_fwdbwd_ms"].get<double>() > 0.0);
  }
  CHECK(j["config"]["batch"] == 2);
  std::ifstream f(csv);
  std::string header;
  std::getline(f, header);
  CHECK_THAT(header, Catch::StartsWith("heads,tokens,fast_fwd_ms"));
  std::ifstream cfg(dir + "/bench_scan.config.json");
  CHECK(cfg.good());
}
