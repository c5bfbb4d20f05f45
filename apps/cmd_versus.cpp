// aaren versus ROOT: two arms of a study compared per dataset with a test fixed
// in advance. ROOT holds DATASET/ARM-seedN/ run folders (eval.csv, config.json,
// optionally eval-final.json: the last point again with more episodes, as
// scripts/protocol-cell.sh writes it). A run's record is checked before it is
// scored (each point once, none missing among those read or past its schedule, the
// arms and seeds on one schedule). Each finished run's score is the mean of
// its last --last evaluations at the target; per dataset, the difference of the
// arms' means over seeds gets Welch's interval and a verdict against --margin;
// the per-dataset differences are pooled (agents/training/equivalence.h).
// --curves DIR draws each dataset's learning curves: every arm's mean over its
// finished seeds with a 95% band (agents/training/seed_summary.h).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "agents/training/equivalence.h"
#include "agents/training/seed_summary.h"
#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/config_options.h"
#include "apps/provenance.h"
#include "base/atomic_file.h"
#include "base/format.h"
#include "base/numbers.h"
#include "base/svg_plot.h"

namespace aaren::cli {

namespace {
namespace fs = std::filesystem;
using base::plain;

// versus's settings, one described field each (flags, --help, docs/CLI-REFERENCE.md).
struct VersusSettings {
  std::string root, out, curves;
  std::vector<std::string> arms{"aaren", "transformer"};
  std::string target = "high";
  int64_t last = 3;
  int64_t min_seeds = 3;
  bool final_point = true, json = false;
  double margin = 5, level = 0.9, pooled_level = 0.95;

  static const std::vector<base::ConfigField<VersusSettings>>& fields() {
    using S = VersusSettings;
    using base::field;
    static const std::vector<base::ConfigField<S>> table{
        field("root", &S::root, "the study's folder: DATASET/ARM-seedN/ run folders"),
        field("arms", &S::arms, "the two arms, A then B; the difference is A - B"),
        field("target", &S::target, "the target return scored: high (each run's highest, DT's headline) or a number"),
        field("last", &S::last, "a run's score: the mean of its last N evaluations at the target"),
        field("final", &S::final_point,
              "1: replace the last point by eval-final.json's mean where a run has one (the same point: its seed, at "
              "least its episodes; another file is refused, a run without one is named on stderr)"),
        field("min-seeds", &S::min_seeds,
              "seeds per arm before a dataset gets a verdict and joins the pooled difference (the protocol's 3); "
              "with fewer (2 at least) its interval is shown for scale, verdict 'none yet'"),
        field("margin", &S::margin, "the equivalence margin, in normalised points, fixed before the runs"),
        field("level", &S::level, "the per-dataset interval's level (0.9: two one-sided tests at 5%)"),
        field("pooled-level", &S::pooled_level, "the pooled difference's interval level"),
        field("out", &S::out,
              "also write the table as CSV to FILE.csv, and beside it FILE.config.json: the settings, each run read "
              "with its score, and what ran it"),
        field("curves", &S::curves,
              "also draw DIR/DATASET.svg per dataset: each arm's curve at the target, the mean over its finished "
              "seeds with the 95% interval as a band (from 3 seeds: 2 seeds' interval, +-12.7 SE, is not drawn); "
              "their record beside them, DIR/versus.config.json"),
        field("json", &S::json, "print JSON instead of the table", {"", false, std::nullopt, true}),
    };
    return table;
  }
};

// The finished runs of one arm of one dataset: seed -> score.
using ArmScores = std::map<uint64_t, double>;

// A run's folder to its score, or a reason it is left out (unfinished, no points at the target).
struct ScoredRun {
  bool counted = false;
  double score = 0;
  std::string why;
};

// The target scored and drawn: --target's number, or "high": the highest the run evaluated at.
double chosen_target(const VersusSettings& s, const std::vector<EvalResult>& evals) {
  double target = 0;
  for (const auto& e : evals) target = std::max(target, e.target);
  if (s.target != "high") base::parse_real(s.target, target);  // checked in check_settings
  return target;
}

// What a run's config.json says of its schedule: the updates it runs to, its evaluation
// interval and targets (0 and empty where not recorded). A run's folder always holds one
// (train writes it first), so a missing or damaged one is refused, not skipped.
struct Schedule {
  int64_t updates = 0, eval_every = 0;
  std::vector<double> targets;
};

Schedule read_schedule(const fs::path& dir, const nlohmann::json& config) {
  const auto where = (dir / "config.json").string();
  if (!config.is_object())
    throw InputError(where + ": missing or not a JSON object (a run's folder holds its settings)");
  const auto whole = [&](const std::string& key, bool required) -> int64_t {
    if (!config.contains(key)) {
      if (required) throw InputError(where + ": no '" + key + "' (the run's length in updates)");
      return 0;
    }
    const auto& v = config.at(key);
    if (!v.is_number_integer() || v.get<int64_t>() < 1)
      throw InputError(where + ": '" + key + "' is " + v.dump() + ": expected a whole number of updates, at least 1");
    return v.get<int64_t>();
  };
  Schedule schedule{whole("updates", true), whole("eval_every", false), {}};
  if (config.contains("eval_targets")) schedule.targets = config.at("eval_targets").get<std::vector<double>>();
  return schedule;
}

// eval.csv holds each (update, target) once and nothing past the schedule: a log that
// repeats rows (a resume that wrote them again) or outruns its config would be scored wrong.
void check_evaluations(const fs::path& dir, const std::vector<EvalResult>& evals, const Schedule& schedule) {
  const auto where = (dir / "eval.csv").string();
  std::set<std::pair<int64_t, double>> seen;
  for (const auto& e : evals) {
    const auto point = "update " + std::to_string(e.update) + " at target " + plain(e.target);
    if (!seen.insert({e.update, e.target}).second)
      throw InputError(where + ": " + point + " appears twice (each evaluation is one row)");
    if (e.update > schedule.updates)
      throw InputError(where + ": " + point + " lies past the run's " + std::to_string(schedule.updates) +
                       " updates (config.json's 'updates')");
  }
}

// The points a score reads at `target` are the schedule's last ones: its end, then the
// multiples of eval_every below it (train's evaluations), where the interval is recorded;
// one missing would shift the average onto earlier points. The last point, which
// eval-final.json repeats, is returned.
EvalResult check_last_points(const fs::path& dir, const std::vector<EvalResult>& evals, const Schedule& schedule,
                             double target, int64_t points) {
  std::map<int64_t, EvalResult> at_target;
  for (const auto& e : evals)
    if (e.target == target) at_target[e.update] = e;
  std::vector<int64_t> expected{schedule.updates};
  const int64_t every = schedule.eval_every;
  if (every > 0)
    for (int64_t u = (schedule.updates - 1) / every * every;
         u >= every && static_cast<int64_t>(expected.size()) < points; u -= every)
      expected.push_back(u);
  for (const int64_t update : expected)
    if (!at_target.count(update))
      throw InputError((dir / "eval.csv").string() + ": no evaluation at update " + std::to_string(update) +
                       " at target " + plain(target) + " (the run evaluates at its " +
                       std::to_string(schedule.updates) + " updates" +
                       (every > 0 ? " and every " + std::to_string(every) + " before" : "") + ")");
  return at_target.at(schedule.updates);
}

// eval-final.json's mean in place of the last point's (--final 1): the same point (its
// seed) again over at least as many episodes; NaN without one, or when it repeats another
// target. A file that is not that point is refused: a copy cut short or another run's.
double final_point_mean(const VersusSettings& s, const fs::path& dir, const EvalResult& last) {
  const auto path = dir / "eval-final.json";
  if (!s.final_point) return std::nan("");
  if (!fs::exists(path)) {
    std::cerr << "versus: " << dir.string() << ": no eval-final.json: its last point counts over its " << last.episodes
              << " episodes\n";
    return std::nan("");
  }
  std::ifstream in(path);
  const auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("score_mean") || !j.contains("config") || !j.at("config").is_object())
    throw InputError(path.string() + ": not a rollout's JSON (expected score_mean and config; a copy cut short?)");
  const auto& config = j.at("config");
  if (config.value("target_return", 0.0) != last.target) return std::nan("");
  if (config.value("seed", uint64_t{0}) != last.seed)
    throw InputError(path.string() + ": episodes from seed " + config.value("seed", nlohmann::json()).dump() +
                     ", the last point's from " + std::to_string(last.seed) + " (expected that point again)");
  if (config.value("episodes", int64_t{0}) < last.episodes)
    throw InputError(path.string() + ": " + config.value("episodes", nlohmann::json()).dump() +
                     " episodes, fewer than the last point's " + std::to_string(last.episodes));
  return j.at("score_mean").get<double>();
}

// The target a run is scored at: --target's number, or "high": the highest of its config's
// targets (of its evaluations where the config names none).
double scored_target(const VersusSettings& s, const Schedule& schedule, const std::vector<EvalResult>& evals) {
  if (s.target != "high" || schedule.targets.empty()) return chosen_target(s, evals);
  const double high = *std::max_element(schedule.targets.begin(), schedule.targets.end());
  for (const auto& e : evals)  // as eval.csv writes it (6 significant digits)
    if (std::abs(e.target - high) <= 1e-5 * std::max(1.0, std::abs(high))) return e.target;
  return high;
}

// `evals` and `schedule`: the run's eval.csv and config.json (read once by the caller, which
// also draws the evaluations and takes the data's level from the config).
ScoredRun score_run(const fs::path& dir, const std::vector<EvalResult>& evals, const Schedule& schedule,
                    const VersusSettings& s) {
  check_evaluations(dir, evals, schedule);
  int64_t reached = 0;
  for (const auto& e : evals) reached = std::max(reached, e.update);
  if (reached < schedule.updates)
    return {false, 0,
            "unfinished (evaluated to " + std::to_string(reached) + " of " + std::to_string(schedule.updates) + ")"};
  const double target = scored_target(s, schedule, evals);
  const bool any_at_target =
      std::any_of(evals.begin(), evals.end(), [&](const EvalResult& e) { return e.target == target; });
  if (!any_at_target && s.target != "high")  // a number another dataset's runs evaluate at
    return {false, 0, "no evaluation at target " + plain(target)};
  const auto last = check_last_points(dir, evals, schedule, target, s.last);
  try {
    return {true, run_score(evals, target, static_cast<int>(s.last), final_point_mean(s, dir, last)), ""};
  } catch (const std::invalid_argument& e) {
    return {false, 0, e.what()};
  }
}

// The finished runs of a study, every arm's (the two compared and any other, such as
// controls): dataset -> arm -> seed -> score, and the same runs with their evaluations
// (in seed order) for the curves. `schedules`: each dataset's arm's length in updates and
// the run it was first read from: the seeds of an arm, and the two arms compared, must
// share it (a verdict between schedules of different lengths compares the schedules).
struct Study {
  std::map<std::string, std::map<std::string, ArmScores>> scores;
  std::map<std::string, std::map<std::string, std::vector<SeedRun>>> runs;
  std::map<std::string, std::map<std::string, std::pair<int64_t, std::string>>> schedules;
};

// The run ROOT/DATASET/ARM-seedN into the study, when it counts; its seed and schedule
// checked against the arm's runs read before it.
void read_run(const VersusSettings& s, const std::string& dataset, const std::string& arm, const fs::path& dir,
              uint64_t seed, Study& study) {
  std::vector<EvalResult> evals;
  try {
    evals = read_eval_csv((dir / "eval.csv").string());
  } catch (const std::runtime_error& e) {  // a damaged file is the user's input: named, exit 2
    throw InputError(e.what());
  }
  std::ifstream in(dir / "config.json");
  const auto config = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  ScoredRun scored;
  Schedule schedule;
  double level = 0;
  try {
    schedule = read_schedule(dir, config);
    scored = score_run(dir, evals, schedule, s);
    level = behaviour_score(config);
  } catch (const nlohmann::json::exception& e) {  // e.g. "eval_targets": "three"
    throw InputError(dir.string() + ": a value of another type in config.json or eval-final.json (" + e.what() + ")");
  }
  if (!scored.counted) {
    std::cerr << "versus: " << dir.string() << ": left out: " << scored.why << "\n";
    return;
  }
  auto& scores = study.scores[dataset][arm];
  if (scores.count(seed)) throw InputError(dir.string() + ": seed " + std::to_string(seed) + " of " + arm + " twice");
  const auto [first, inserted] = study.schedules[dataset].emplace(arm, std::pair{schedule.updates, dir.string()});
  if (!inserted && first->second.first != schedule.updates)
    throw InputError(dir.string() + ": " + std::to_string(schedule.updates) + " updates, but " + first->second.second +
                     " of the same arm ran " + std::to_string(first->second.first));
  scores[seed] = scored.score;
  study.runs[dataset][arm].push_back({seed, dir.string(), std::move(evals), level});
}

// The two compared arms of each dataset ran the same schedule.
void check_compared_schedules(const VersusSettings& s, const Study& study) {
  for (const auto& [dataset, arms] : study.schedules) {
    const auto a = arms.find(s.arms[0]), b = arms.find(s.arms[1]);
    if (a != arms.end() && b != arms.end() && a->second.first != b->second.first)
      throw InputError(a->second.second + " ran " + std::to_string(a->second.first) + " updates, " + b->second.second +
                       " " + std::to_string(b->second.first) + ": the arms compared must share the schedule");
  }
}

// ROOT/DATASET/ARM-seedN, in dataset order.
Study read_study(const VersusSettings& s) {
  static const std::regex cell("(.+)-seed([0-9]+)");
  Study study;
  for (const auto& dataset : fs::directory_iterator(s.root)) {
    if (!dataset.is_directory()) continue;
    for (const auto& run : fs::directory_iterator(dataset.path())) {
      std::smatch m;
      const auto name = run.path().filename().string();
      if (!run.is_directory() || !std::regex_match(name, m, cell)) continue;
      if (!fs::exists(run.path() / "eval.csv")) continue;
      uint64_t seed = 0;
      try {
        seed = base::parse_value<uint64_t>(m[2].str());
      } catch (const std::invalid_argument& e) {
        throw InputError(run.path().string() + ": its seed: " + e.what());
      }
      read_run(s, dataset.path().filename().string(), m[1].str(), run.path(), seed, study);
    }
  }
  check_compared_schedules(s, study);
  for (auto& [dataset, arms] : study.runs)
    for (auto& [arm, runs] : arms)
      std::sort(runs.begin(), runs.end(), [](const SeedRun& a, const SeedRun& b) { return a.seed < b.seed; });
  return study;
}

std::vector<double> values(const ArmScores& scores) {
  std::vector<double> v;
  for (const auto& [seed, score] : scores) v.push_back(score);
  return v;
}

std::string signed_3(double x) { return (x > 0 ? "+" : "") + base::three_significant(x); }

std::string arm_cell(const ArmSummary& a) {
  if (!std::isfinite(a.std)) return base::three_significant(a.mean) + " (" + std::to_string(a.seeds) + ")";  // 1 seed
  return base::three_significant(a.mean) + " +- " + base::three_significant(a.std) + " (" + std::to_string(a.seeds) +
         ")";
}

std::string interval_text(double low, double high) { return "[" + signed_3(low) + ", " + signed_3(high) + "]"; }

// One CSV row of a dataset's comparison.
std::string csv_row(const std::string& dataset, const Difference& r, const std::string& verdict) {
  std::ostringstream row;
  row << std::setprecision(6) << dataset << "," << r.a.seeds << "," << r.a.mean << "," << r.a.std << "," << r.b.seeds
      << "," << r.b.mean << "," << r.b.std << "," << r.d << "," << r.se << "," << r.dof << "," << r.low << "," << r.high
      << "," << verdict;
  return row.str();
}

// The comparisons of every dataset both arms have at least 2 seeds on.
struct StudyResult {
  std::vector<std::pair<std::string, Difference>> rows;
  std::set<std::string> too_few;     // datasets of `rows` with fewer than --min-seeds in an arm: no verdict yet
  std::vector<std::string> skipped;  // "dataset: A and B finished seeds", those with fewer than 2 in an arm
  Study study;
};

StudyResult compare_study(const VersusSettings& s) {
  StudyResult r;
  r.study = read_study(s);
  for (const auto& [dataset, arms] : r.study.scores) {
    const auto a = arms.find(s.arms[0]), b = arms.find(s.arms[1]);
    const size_t na = a == arms.end() ? 0 : a->second.size(), nb = b == arms.end() ? 0 : b->second.size();
    if (na < 2 || nb < 2) {
      r.skipped.push_back(dataset + ": " + std::to_string(na) + " and " + std::to_string(nb) + " finished seeds");
      continue;
    }
    r.rows.emplace_back(dataset, welch_difference(values(a->second), values(b->second), s.level, s.margin));
    if (static_cast<int64_t>(std::min(na, nb)) < s.min_seeds) r.too_few.insert(dataset);
  }
  return r;
}

// A row's verdict, or "none yet" where an arm has fewer seeds than the test reads from.
std::string verdict_text(const StudyResult& r, const std::string& dataset, const Difference& d) {
  return r.too_few.count(dataset) ? "none yet" : to_string(d.verdict);
}

// The pooled difference over the datasets with a verdict; none while no dataset has one.
std::optional<PooledDifference> pooled_over_verdicts(const VersusSettings& s, const StudyResult& r) {
  std::vector<Difference> diffs;
  for (const auto& [dataset, d] : r.rows)
    if (!r.too_few.count(dataset)) diffs.push_back(d);
  if (diffs.empty()) return std::nullopt;
  return pooled_difference(diffs, s.pooled_level);
}

nlohmann::json study_json(const VersusSettings& s, const StudyResult& r) {
  nlohmann::json out{{"arms", s.arms}, {"margin", s.margin}, {"level", s.level}, {"datasets", nlohmann::json::array()}};
  for (const auto& [dataset, d] : r.rows) {
    nlohmann::json scores;
    for (const auto& arm : s.arms)
      for (const auto& [seed, score] : r.study.scores.at(dataset).at(arm)) scores[arm][std::to_string(seed)] = score;
    out["datasets"].push_back({{"dataset", dataset},
                               {"scores", scores},
                               {"d", d.d},
                               {"se", d.se},
                               {"dof", d.dof},
                               {"low", d.low},
                               {"high", d.high},
                               {"verdict", verdict_text(r, dataset, d)}});
  }
  return out;
}

void print_table(const VersusSettings& s, const StudyResult& r, const std::optional<PooledDifference>& pooled) {
  const auto pct = [](double level) { return plain(100 * level) + "%"; };
  std::cout << "| dataset | " << s.arms[0] << " (seeds) | " << s.arms[1] << " (seeds) | d | " << pct(s.level)
            << " interval | half-width | verdict (margin +-" << plain(s.margin)
            << ") |\n|---|---|---|---|---|---|---|\n";
  // The half-width beside the verdict: "inconclusive" with a half-width above the margin says
  // the seeds cannot decide whatever d is (power), below it that d sits near the margin.
  for (const auto& [dataset, d] : r.rows)
    std::cout << "| " << dataset << " | " << arm_cell(d.a) << " | " << arm_cell(d.b) << " | " << signed_3(d.d) << " | "
              << interval_text(d.low, d.high) << " | " << base::three_significant((d.high - d.low) / 2) << " | "
              << verdict_text(r, dataset, d) << " |\n";
  if (!r.too_few.empty())
    std::cout << "\n'none yet': fewer than " << s.min_seeds
              << " seeds in an arm (--min-seeds); the interval is shown for scale, and the dataset is not pooled\n";
  if (!pooled) {
    std::cout << "\npooled: no dataset has a verdict yet\n";
    return;
  }
  std::cout << "\npooled over " << pooled->datasets << " datasets: d = " << signed_3(pooled->d) << ", "
            << pct(s.pooled_level) << " interval " << interval_text(pooled->low, pooled->high) << "\n";
}

// Every arm's score per dataset, the two compared first, then the others (controls, other
// backbones) by name: what return conditioning adds is read across a row. "-": no finished seed.
void print_arm_scores(const VersusSettings& s, const Study& study) {
  std::vector<std::string> arms = s.arms;
  for (const auto& [dataset, by_arm] : study.scores)
    for (const auto& [arm, scores] : by_arm)
      if (std::find(arms.begin(), arms.end(), arm) == arms.end()) arms.push_back(arm);
  if (arms.size() <= s.arms.size()) return;  // the table above says it all
  std::cout << "\nevery arm's score (mean +- sample std (seeds)):\n\n| dataset |";
  for (const auto& arm : arms) std::cout << " " << arm << " |";
  std::cout << "\n|---|";
  for (size_t i = 0; i < arms.size(); ++i) std::cout << "---|";
  std::cout << "\n";
  for (const auto& [dataset, by_arm] : study.scores) {
    std::cout << "| " << dataset << " |";
    for (const auto& arm : arms) {
      const auto found = by_arm.find(arm);
      if (found == by_arm.end()) {
        std::cout << " - |";
        continue;
      }
      const auto [mean, sd] = mean_and_std(values(found->second));
      std::cout << " " << arm_cell({static_cast<int64_t>(found->second.size()), mean, sd}) << " |";
    }
    std::cout << "\n";
  }
}

// The runs a table was computed from, each with its score: dataset -> arm -> seed -> {dir, score}
// (FILE.config.json beside --out's CSV, so the CSV can be traced to its inputs).
nlohmann::json inputs_json(const Study& study) {
  nlohmann::json inputs = nlohmann::json::object();
  for (const auto& [dataset, arms] : study.runs)
    for (const auto& [arm, runs] : arms)
      for (const auto& run : runs)
        inputs[dataset][arm][std::to_string(run.seed)] = {{"dir", run.dir},
                                                          {"score", study.scores.at(dataset).at(arm).at(run.seed)}};
  return inputs;
}

void write_csv(const VersusSettings& s, const StudyResult& r, const std::optional<PooledDifference>& pooled) {
  std::ostringstream csv;
  csv << "dataset,seeds_a,mean_a,std_a,seeds_b,mean_b,std_b,d,se,dof,low,high,verdict\n";
  for (const auto& [dataset, d] : r.rows) csv << csv_row(dataset, d, verdict_text(r, dataset, d)) << "\n";
  if (pooled)
    csv << std::setprecision(6) << "pooled,,,,,,," << pooled->d << "," << pooled->se << "," << pooled->dof << ","
        << pooled->low << "," << pooled->high << ",\n";
  base::write_file_atomically(s.out, csv.str());
}

// The arms in the figure's order: the two compared, then the others (controls) by name.
std::vector<std::string> arm_order(const VersusSettings& s, const std::map<std::string, std::vector<SeedRun>>& arms) {
  std::vector<std::string> order = s.arms;
  for (const auto& [arm, runs] : arms)
    if (std::find(order.begin(), order.end(), arm) == order.end()) order.push_back(arm);
  return order;
}

// DIR/DATASET.svg: per arm, the mean over its finished seeds of the points at the target
// (eval.csv's, 10 episodes each in the protocol) with the 95% interval over seeds as a band.
// DIR/versus.config.json records what drew them (the settings, the runs read, provenance).
void write_curves(const VersusSettings& s, const Study& study, const nlohmann::json& record) {
  fs::create_directories(s.curves);
  // The record first: a drawing cut short leaves figures this command may draw over again.
  base::write_file_atomically(folder_record(s.curves, "versus"), record.dump(2) + "\n");
  for (const auto& [dataset, arms] : study.runs) {
    base::PlotOptions o{dataset, "updates", "D4RL normalised score"};
    o.width = 900;  // room for 40 points per arm beside a legend that names arm, target and seeds
    std::vector<base::Series> series;
    for (const auto& arm : arm_order(s, arms)) {
      const auto found = arms.find(arm);
      if (found == arms.end()) continue;
      const auto& runs = found->second;
      double target = 0;
      for (const auto& run : runs) target = std::max(target, chosen_target(s, run.evals));
      const auto curves = summary_curves(summarise_seeds(runs), arm, target);
      series.insert(series.end(), curves.begin(), curves.end());
      if (o.references.empty() && std::isfinite(runs.front().behaviour_score))
        o.references.push_back({runs.front().behaviour_score,
                                "the data's level " + base::three_significant(runs.front().behaviour_score)});
    }
    o.caption = "target " + s.target +
                "; each arm: mean over its finished seeds, band the 95% interval (Student's t; from 3 seeds)";
    const auto path = (fs::path(s.curves) / (dataset + ".svg")).string();
    base::write_svg(path, series, o);
    std::cerr << "versus: wrote " << path << "\n";
  }
}

void check_settings(const VersusSettings& s) {
  if (!fs::is_directory(s.root)) throw InputError(s.root + ": no such folder (the study's root)");
  if (s.arms.size() != 2 || s.arms[0] == s.arms[1])
    throw UsageError("--arms: expected two different arms, A then B (e.g. aaren transformer)");
  if (s.last < 1) throw UsageError("--last " + std::to_string(s.last) + ": expected at least 1 evaluation");
  if (s.min_seeds < 2)
    throw UsageError("--min-seeds " + std::to_string(s.min_seeds) + ": expected at least 2 (an interval needs 2)");
  if (!(s.margin > 0)) throw UsageError("--margin " + plain(s.margin) + ": expected a positive margin");
  for (const auto& [flag, level] : {std::pair{"level", s.level}, std::pair{"pooled-level", s.pooled_level}})
    if (!(level > 0 && level < 1))
      throw UsageError(std::string("--") + flag + " " + plain(level) + ": expected a level in (0, 1)");
  double t = 0;
  if (s.target != "high" && !(base::parse_real(s.target, t) && t > 0))
    throw UsageError("--target " + s.target + ": expected high or a positive return");
}
}  // namespace

int run_versus(int argc, char** argv) {
  VersusSettings s;
  boost::program_options::positional_options_description positional;
  positional.add("root", 1);
  boost::program_options::variables_map vm;
  if (!parse_config(argc, argv, "ROOT [options]", VersusSettings::fields(), s, vm, &positional, {"root"}))
    return kExitOk;
  check_settings(s);
  if (!s.out.empty()) require_table_output("out", s.out, "versus");
  if (!s.curves.empty()) require_writable("curves", s.curves, /*folder=*/true);
  const auto r = compare_study(s);
  if (!s.curves.empty()) {
    std::vector<std::string> figures;
    for (const auto& entry : r.study.runs) figures.push_back(entry.first + ".svg");
    require_folder_output("curves", s.curves, "versus", figures);
  }
  const nlohmann::json record{{"command", "versus"},
                              {"config", base::fields_to_json(s, VersusSettings::fields())},
                              {"runs", inputs_json(r.study)},
                              {"provenance", provenance(argc, argv)}};
  if (!s.curves.empty()) write_curves(s, r.study, record);  // the curves so far, also before any comparison
  std::string skipped;
  for (const auto& line : r.skipped) skipped += (skipped.empty() ? "" : "; ") + line;
  if (r.rows.empty())  // one line: why nothing can be compared
    throw InputError(s.root + ": no dataset with 2 finished seeds of both arms" +
                     (skipped.empty() ? "" : " (" + skipped + ")"));
  for (const auto& line : r.skipped) std::cerr << "versus: " << line << ": needs 2 per arm\n";
  const auto pooled = pooled_over_verdicts(s, r);
  if (s.json) {
    auto j = study_json(s, r);
    j["pooled"] = nullptr;  // no dataset with a verdict yet
    if (pooled)
      j["pooled"] = {{"datasets", pooled->datasets}, {"d", pooled->d},     {"se", pooled->se},
                     {"dof", pooled->dof},           {"low", pooled->low}, {"high", pooled->high},
                     {"level", s.pooled_level}};
    std::cout << j.dump(2) << std::endl;
  } else {
    print_table(s, r, pooled);
    print_arm_scores(s, r.study);
  }
  if (!s.out.empty()) {
    write_csv(s, r, pooled);
    save_config_next_to(s.out, record);
  }
  return kExitOk;
}

}  // namespace aaren::cli
