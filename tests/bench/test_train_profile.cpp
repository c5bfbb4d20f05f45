// `aaren bench train --profile`: per-operator self times of one update, for
// both backbones, that add up to no more than the update.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <map>
#include <string>

#include "tests/apps/run_aaren.h"

TEST_CASE("bench train --profile: each backbone's operators by self time, shares of one update", "[bench]") {
  const auto r = aaren::testing::run_aaren(
      "bench train --profile 2 --lengths 30 --batch-size 8 --embed-dim 64 --layers 1 --json", /*merge_stderr=*/false);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto rows = nlohmann::json::parse(r.output).at("rows");
  std::map<std::string, double> share;
  std::map<std::string, bool> has_matmul, sorted;
  std::map<std::string, double> last;
  for (const auto& row : rows) {
    const std::string backbone = row.at("backbone"), op = row.at("op");
    const double ms = row.at("self_ms_per_update");
    share[backbone] += row.at("share").get<double>();
    if (op == "aten::mm" || op == "aten::addmm") has_matmul[backbone] = true;
    if (last.count(backbone)) CHECK(ms <= last[backbone]);  // largest first
    last[backbone] = ms;
    CHECK(ms >= 0);
  }
  for (const std::string backbone : {"aaren", "transformer"}) {
    INFO(backbone);
    CHECK(has_matmul[backbone]);
    CHECK(share[backbone] > 0.3);
    CHECK(share[backbone] <= 1.0 + 1e-9);
  }
}
