// A training run's evaluations and its eval.csv: one type, one writer, one
// reader (train writes it, train's eval.svg and the multi-seed summaries read it).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace aaren {

// One evaluation at one target: a row of eval.csv.
struct EvalResult {
  int64_t update = 0;
  double target = 0;                                                      // the target return it conditioned on
  double return_mean = 0, return_std = 0, score_mean = 0, score_std = 0;  // over episodes (sample std)
  uint64_t seed = 0;  // episode e started from seed + e (aaren rollout --seed replays them)
  int64_t episodes = 0;
};

// eval.csv's header line (no newline), and a row as it is written (no newline).
const std::string& eval_csv_header();
std::string eval_csv_row(const EvalResult& e);
// Every row of an eval.csv; throws std::runtime_error naming the file (and the
// line) when it is missing, has another header, or a row is not numbers.
std::vector<EvalResult> read_eval_csv(const std::string& path);

}  // namespace aaren
