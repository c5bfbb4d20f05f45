#include "agents/training/equivalence.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "agents/training/seed_summary.h"
#include "base/format.h"

namespace aaren {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();

// The interval estimate +- t(1 - (1 - level) / 2, dof) * se; a zero standard
// error (every seed scored the same) leaves the estimate alone.
std::pair<double, double> interval(double estimate, double se, double dof, double level) {
  if (!(level > 0 && level < 1)) throw std::invalid_argument("the interval's level must lie in (0, 1)");
  if (se == 0) return {estimate, estimate};
  const double half = t_quantile(1 - (1 - level) / 2, dof) * se;
  return {estimate - half, estimate + half};
}

Verdict verdict_of(double low, double high, double margin) {
  if (low >= -margin && high <= margin) return Verdict::kEquivalent;
  if (low > margin) return Verdict::kBetter;
  if (high < -margin) return Verdict::kWorse;
  return Verdict::kInconclusive;
}
}  // namespace

double run_score(const std::vector<EvalResult>& evals, double target, int points, double final_mean) {
  if (points < 1) throw std::invalid_argument("a run's score needs at least one evaluation point");
  std::vector<std::pair<int64_t, double>> at_target;  // (update, score)
  for (const auto& e : evals)
    if (e.target == target) at_target.emplace_back(e.update, e.score_mean);
  if (static_cast<int64_t>(at_target.size()) < points)
    throw std::invalid_argument("needs " + std::to_string(points) + " evaluations at target " +
                                base::three_significant(target) + ", has " + std::to_string(at_target.size()));
  std::sort(at_target.begin(), at_target.end());
  if (std::isfinite(final_mean)) at_target.back().second = final_mean;
  double sum = 0;
  for (auto it = at_target.end() - points; it != at_target.end(); ++it) sum += it->second;
  return sum / points;
}

std::string to_string(Verdict v) {
  switch (v) {
    case Verdict::kEquivalent:
      return "equivalent";
    case Verdict::kBetter:
      return "better";
    case Verdict::kWorse:
      return "worse";
    case Verdict::kInconclusive:
      return "inconclusive";
  }
  return "inconclusive";
}

Difference welch_difference(const std::vector<double>& a, const std::vector<double>& b, double level, double margin) {
  if (a.size() < 2 || b.size() < 2)
    throw std::invalid_argument("Welch's interval needs at least 2 seeds per arm (has " + std::to_string(a.size()) +
                                " and " + std::to_string(b.size()) + ")");
  Difference r;
  r.a.seeds = static_cast<int64_t>(a.size()), r.b.seeds = static_cast<int64_t>(b.size());
  std::tie(r.a.mean, r.a.std) = mean_and_std(a);
  std::tie(r.b.mean, r.b.std) = mean_and_std(b);
  const double va = r.a.std * r.a.std / r.a.seeds, vb = r.b.std * r.b.std / r.b.seeds;  // squared standard errors
  r.d = r.a.mean - r.b.mean;
  r.se = std::sqrt(va + vb);
  // Welch-Satterthwaite: (va + vb)^2 / (va^2 / (n_a - 1) + vb^2 / (n_b - 1)).
  const double denominator = va * va / (r.a.seeds - 1) + vb * vb / (r.b.seeds - 1);
  r.dof = denominator > 0 ? (va + vb) * (va + vb) / denominator : kInf;
  std::tie(r.low, r.high) = interval(r.d, r.se, r.dof, level);
  r.verdict = verdict_of(r.low, r.high, margin);
  return r;
}

PooledDifference pooled_difference(const std::vector<Difference>& per_dataset, double level) {
  if (per_dataset.empty()) throw std::invalid_argument("a pooled difference needs at least one dataset");
  PooledDifference p;
  p.datasets = static_cast<int64_t>(per_dataset.size());
  double variance = 0, dof_denominator = 0;  // sum se_i^2; sum se_i^4 / dof_i
  for (const auto& r : per_dataset) {
    p.d += r.d / p.datasets;
    variance += r.se * r.se;
    if (std::isfinite(r.dof)) dof_denominator += std::pow(r.se, 4) / r.dof;
  }
  p.se = std::sqrt(variance) / p.datasets;
  p.dof = dof_denominator > 0 ? variance * variance / dof_denominator : kInf;
  std::tie(p.low, p.high) = interval(p.d, p.se, p.dof, level);
  return p;
}

}  // namespace aaren
