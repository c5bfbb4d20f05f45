// The summary over seeds (agents/training/seed_summary.h) against the
// formulas written out: Student's t quantiles from a table, the sample std,
// points that only some seeds reached, one seed (no spread to report).
#include <catch2/catch.hpp>

#include <cmath>

#include "agents/training/seed_summary.h"

namespace {
aaren::EvalResult point(int64_t update, double target, double score) {
  aaren::EvalResult e;
  e.update = update, e.target = target, e.score_mean = score, e.return_mean = 10 * score;
  return e;
}
}  // namespace

TEST_CASE("seed summary: Student's t quantiles match the table", "[seeds]") {
  // t(0.975, dof) to the three decimals of a statistics table (NIST/SEMATECH e-Handbook, 1.3.6.7.2).
  CHECK(aaren::t_quantile_975(1) == Approx(12.706).epsilon(5e-4));
  CHECK(aaren::t_quantile_975(2) == Approx(4.303).epsilon(5e-4));
  CHECK(aaren::t_quantile_975(4) == Approx(2.776).epsilon(5e-4));
  CHECK(aaren::t_quantile_975(29) == Approx(2.045).epsilon(5e-4));
  CHECK_THROWS(aaren::t_quantile_975(0));
}

TEST_CASE("seed summary: mean, sample std and interval per point, points some seeds lack count fewer", "[seeds]") {
  std::vector<aaren::SeedRun> runs(3);
  runs[0].evals = {point(10, 3600, 40), point(20, 3600, 50)};
  runs[1].evals = {point(10, 3600, 44), point(20, 3600, 56)};
  runs[2].evals = {point(10, 3600, 48)};  // stopped before update 20
  const auto rows = aaren::summarise_seeds(runs);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].update == 10);
  CHECK(rows[0].seeds == 3);
  CHECK(rows[0].score_mean == Approx(44));
  CHECK(rows[0].score_std == Approx(4));  // sqrt((16 + 0 + 16) / 2)
  CHECK(rows[0].score_ci95_high - rows[0].score_mean == Approx(4.302652729749464 * 4 / std::sqrt(3.0)));
  CHECK(rows[0].return_mean == Approx(440));
  CHECK(rows[1].seeds == 2);
  CHECK(rows[1].score_mean == Approx(53));
  CHECK(rows[1].score_std == Approx(std::sqrt(18.0)));
  // One seed: a mean, and no spread (empty cells in the CSV).
  const auto one = aaren::summarise_seeds({runs[2]});
  REQUIRE(one.size() == 1);
  CHECK(one[0].score_mean == 48);
  CHECK(std::isnan(one[0].score_std));
  CHECK(aaren::seed_summary_csv(one).find("10,3600,1,48,,,,480,") != std::string::npos);
}
