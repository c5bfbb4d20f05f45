// Two arms compared over seeds with a test fixed in advance (`aaren versus`):
// each run's score from its evaluation curve, the difference of the arms' means
// with Welch's interval, a verdict against an equivalence margin, and the
// difference pooled over datasets. The seed is the unit throughout.
//
// Equivalence by interval inclusion: the arms are equivalent at margin m when
// the whole (1 - 2 alpha) interval of the difference lies inside [-m, +m]; this
// is the two one-sided tests procedure at level alpha (Schuirmann 1987,
// J. Pharmacokinetics and Biopharmaceutics 15(6)), so a 90% interval is TOST at 5%.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "agents/training/eval_log.h"

namespace aaren {

// A run's score at `target`: the mean of its last `points` evaluations there (in
// update order). `final_mean`, when finite, replaces the last point's mean (the
// last point evaluated again with more episodes). Throws std::invalid_argument
// when the run has fewer than `points` evaluations at `target`.
double run_score(const std::vector<EvalResult>& evals, double target, int points, double final_mean);

enum class Verdict { kEquivalent, kBetter, kWorse, kInconclusive };
std::string to_string(Verdict v);

// One arm's scores over seeds: how many, their mean and sample std.
struct ArmSummary {
  int64_t seeds = 0;
  double mean = 0, std = 0;
};

// d = mean(a) - mean(b) with its interval at `level` from Welch's t: standard
// error sqrt(s_a^2 / n_a + s_b^2 / n_b), Welch-Satterthwaite degrees of freedom
// (Welch 1947, Biometrika 34). Verdict at margin m: interval inside [-m, m]
// equivalent, entirely above +m better, entirely below -m worse, else inconclusive.
struct Difference {
  ArmSummary a, b;
  double d = 0, se = 0, dof = 0, low = 0, high = 0;
  Verdict verdict = Verdict::kInconclusive;
};
// Throws std::invalid_argument when an arm has fewer than 2 seeds or level is not in (0, 1).
Difference welch_difference(const std::vector<double>& a, const std::vector<double>& b, double level, double margin);

// The mean of several datasets' differences: standard error sqrt(sum se_i^2) / k,
// Welch-Satterthwaite degrees of freedom over the datasets' standard errors.
struct PooledDifference {
  int64_t datasets = 0;
  double d = 0, se = 0, dof = 0, low = 0, high = 0;
};
PooledDifference pooled_difference(const std::vector<Difference>& per_dataset, double level);

}  // namespace aaren
