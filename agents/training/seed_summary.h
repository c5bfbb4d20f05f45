// Several seeds of one training run, summarised with the seed as the unit:
// `aaren train --seeds` writes OUT/seed_<N>/ (each an ordinary run) and, from
// their eval.csv files, OUT/summary.csv and OUT/eval.svg; `aaren plot` draws
// runs and seed groups side by side.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "agents/training/eval_log.h"
#include "base/svg_plot.h"

namespace aaren {

// One seed's run: where it is, its evaluations, and the level of the data it
// trained on (the normalised mean return of its episodes; NaN when unknown).
struct SeedRun {
  uint64_t seed = 0;
  std::string dir;
  std::vector<EvalResult> evals;
  double behaviour_score = 0;
};

// One evaluation point (update, target) over the seeds that reached it. Each
// seed contributes its mean over episodes; std is the sample std over seeds
// (n - 1); the interval is mean +- t(0.975, n - 1) * std / sqrt(n) (Student's
// t). With one seed, std and the interval are NaN (written as empty cells).
struct SeedSummaryRow {
  int64_t update = 0;
  double target = 0;
  int64_t seeds = 0;
  double score_mean = 0, score_std = 0, score_ci95_low = 0, score_ci95_high = 0;
  double return_mean = 0, return_std = 0;
};

// OUT/seed_<N>: a seed's folder; OUT/seeds.json: the group's record.
std::string seed_folder(const std::string& out, uint64_t seed);
std::string seed_group_file(const std::string& out);
bool is_seed_group(const std::string& out);

// A group's seeds.json: its seeds, the seeds trained at once, and the run's
// config (unresolved: each seed resolves it from the data), with provenance.
struct SeedGroupRecord {
  std::vector<uint64_t> seeds;
  int64_t jobs = 1;  // as recorded: its range is the caller's to check
  nlohmann::json config;
};
// Writes OUT/seeds.json (creating OUT); reads it back, throwing
// std::runtime_error naming the file when it is missing or malformed.
void write_seed_group(const std::string& out, const SeedGroupRecord& group, const nlohmann::json& provenance);
SeedGroupRecord read_seed_group(const std::string& out);

// The normalised score of the data a run trained on, from its config.json
// (provenance.dataset.behaviour_score); NaN when the run predates it.
double behaviour_score(const std::string& run_dir);
// The same from a config.json already read.
double behaviour_score(const nlohmann::json& config);
// Each seed's run that has an eval.csv, in the order given.
std::vector<SeedRun> read_seed_runs(const std::string& out, const std::vector<uint64_t>& seeds);

// The mean and the sample standard deviation (n - 1) of xs; the std is NaN for one value.
std::pair<double, double> mean_and_std(const std::vector<double>& xs);
// Student's t quantile t(p, dof) (Boost.Math) for any dof > 0 (Welch's are not integers),
// and t(0.975, dof) for dof >= 1.
double t_quantile(double p, double dof);
double t_quantile_975(int64_t dof);
std::vector<SeedSummaryRow> summarise_seeds(const std::vector<SeedRun>& runs);

const std::string& seed_summary_header();
std::string seed_summary_csv(const std::vector<SeedSummaryRow>& rows);  // header and rows

// The curves of one run's eval.csv (one per target, highest first) and of a
// summary (the mean over seeds with its interval as a band); `name` prefixes
// each curve's legend entry. `only_target` > 0 keeps that target alone.
std::vector<base::Series> eval_curves(const std::vector<EvalResult>& evals, const std::string& name,
                                      double only_target = 0);
std::vector<base::Series> summary_curves(const std::vector<SeedSummaryRow>& rows, const std::string& name,
                                         double only_target = 0);

// OUT/summary.csv and OUT/eval.svg from the seeds' runs (atomically); returns the rows.
std::vector<SeedSummaryRow> write_seed_summary(const std::string& out, const std::vector<SeedRun>& runs,
                                               const std::string& title);

}  // namespace aaren
