// The protocol's test (agents/training/equivalence.h) against values computed
// independently (Python: the Welch formulas and Student's t by numerical
// integration of its density), its verdicts at and around the margin, and a
// run's score from its curve.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "agents/training/equivalence.h"
#include "agents/training/seed_summary.h"

using aaren::Verdict;

TEST_CASE("equivalence: Welch's interval and degrees of freedom match an independent computation", "[equivalence]") {
  // Unequal seeds and spreads: non-integer Welch-Satterthwaite degrees of freedom.
  const auto r = aaren::welch_difference({40.1, 45.3, 38.2}, {44.0, 52.5, 47.9, 41.2, 49.8}, 0.9, 5);
  CHECK(r.a.seeds == 3);
  CHECK(r.b.seeds == 5);
  CHECK(r.d == Approx(-5.88).margin(1e-9));
  CHECK(r.se == Approx(2.928947).epsilon(1e-6));
  CHECK(r.dof == Approx(5.149279).epsilon(1e-6));
  CHECK(r.low == Approx(-11.744384).epsilon(1e-5));
  CHECK(r.high == Approx(-0.015616).epsilon(1e-3));
  CHECK(r.verdict == Verdict::kInconclusive);  // below 0 but not entirely below -5

  // Equal seeds and spreads: Welch's df is 2(n - 1); t(0.95, 4) = 2.131847 (any t table).
  const auto e = aaren::welch_difference({1, 2, 3}, {2, 3, 4}, 0.9, 5);
  CHECK(e.dof == Approx(4.0).epsilon(1e-12));
  CHECK(e.high - e.d == Approx(2.131847 * std::sqrt(2.0 / 3.0)).epsilon(1e-6));
  CHECK(aaren::t_quantile(0.95, 4) == Approx(2.131847).epsilon(1e-6));
  CHECK(aaren::t_quantile(0.975, std::numeric_limits<double>::infinity()) == Approx(1.959964).epsilon(1e-6));
}

TEST_CASE("equivalence: verdicts by interval inclusion at the margin", "[equivalence]") {
  const auto verdict = [](std::vector<double> a, std::vector<double> b, double margin) {
    return aaren::welch_difference(a, b, 0.9, margin).verdict;
  };
  CHECK(verdict({60.0, 58.5, 61.2}, {59.1, 60.4, 57.0}, 5) == Verdict::kEquivalent);  // [-1.67, 3.80]
  CHECK(verdict({60.0, 58.5, 61.2}, {59.1, 60.4, 57.0}, 3) == Verdict::kInconclusive);
  CHECK(verdict({80, 81, 82}, {60, 61, 62}, 5) == Verdict::kBetter);
  CHECK(verdict({60, 61, 62}, {80, 81, 82}, 5) == Verdict::kWorse);
  CHECK(verdict({60, 61, 62}, {64, 65, 66}, 5) == Verdict::kInconclusive);  // d = -4, interval reaches past -5
  // Every seed alike: no spread, the interval is the difference itself; its edge on the margin counts inside.
  CHECK(verdict({50, 50}, {45, 45}, 5) == Verdict::kEquivalent);
  CHECK(verdict({50, 50}, {44.9, 44.9}, 5) == Verdict::kBetter);
  CHECK_THROWS_AS(aaren::welch_difference({50}, {45, 46}, 0.9, 5), std::invalid_argument);
  CHECK_THROWS_AS(aaren::welch_difference({50, 51}, {45, 46}, 1.0, 5), std::invalid_argument);
}

TEST_CASE("equivalence: the pooled difference over datasets", "[equivalence]") {
  const auto one = aaren::welch_difference({40.1, 45.3, 38.2}, {44.0, 52.5, 47.9, 41.2, 49.8}, 0.9, 5);
  const auto two = aaren::welch_difference({60.0, 58.5, 61.2}, {59.1, 60.4, 57.0}, 0.9, 5);
  const auto p = aaren::pooled_difference({one, two}, 0.95);
  CHECK(p.datasets == 2);
  CHECK(p.d == Approx(-2.406667).epsilon(1e-6));
  CHECK(p.se == Approx(1.594510).epsilon(1e-6));
  CHECK(p.dof == Approx(6.913685).epsilon(1e-6));
  CHECK(p.low == Approx(-6.186646).epsilon(1e-6));
  CHECK(p.high == Approx(1.373313).epsilon(1e-5));
  // One dataset pools to itself (at the pooled level).
  const auto alone = aaren::pooled_difference({two}, 0.9);
  CHECK(alone.low == Approx(two.low).epsilon(1e-9));
  CHECK_THROWS_AS(aaren::pooled_difference({}, 0.95), std::invalid_argument);
}

TEST_CASE("equivalence: a run's score is the mean of its last points at the target", "[equivalence]") {
  std::vector<aaren::EvalResult> evals;
  // Written out of update order, two targets: only the target's points, in update order, count.
  for (int64_t u : {3000, 1000, 4000, 2000}) {
    evals.push_back({u, 3600, 0, 0, static_cast<double>(u) / 100, 0, 0, 10});
    evals.push_back({u, 1800, 0, 0, -1, 0, 0, 10});
  }
  const double nan = std::nan("");
  CHECK(aaren::run_score(evals, 3600, 3, nan) == Approx((20 + 30 + 40) / 3.0));
  CHECK(aaren::run_score(evals, 3600, 1, nan) == Approx(40));
  CHECK(aaren::run_score(evals, 3600, 3, 46) == Approx((20 + 30 + 46) / 3.0));  // the final point's 50 episodes
  CHECK(aaren::run_score(evals, 1800, 2, nan) == Approx(-1));
  CHECK_THROWS_WITH(aaren::run_score(evals, 3600, 5, nan),
                    Catch::Contains("needs 5 evaluations at target 3600, has 4"));
  CHECK_THROWS_AS(aaren::run_score(evals, 5000, 1, nan), std::invalid_argument);
}
