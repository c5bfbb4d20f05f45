#include "agents/training/seed_summary.h"

#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <limits>
#include <map>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "base/format.h"

namespace aaren {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": no such file");
  const auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) throw std::runtime_error(path + ": not a JSON object");
  return j;
}

using base::three_significant;

// A CSV cell: six significant digits as eval.csv has; empty for NaN (one seed's std).
std::string cell(double v) {
  if (!std::isfinite(v)) return "";
  std::ostringstream os;
  os << std::setprecision(6) << v;
  return os.str();
}

std::string target_name(const std::string& name, double target) {
  std::ostringstream os;
  os << name << (name.empty() ? "" : ", ") << "target " << std::fixed << std::setprecision(0) << target;
  return os.str();
}
}  // namespace

std::string seed_folder(const std::string& out, uint64_t seed) {
  return (std::filesystem::path(out) / ("seed_" + std::to_string(seed))).string();
}

std::string seed_group_file(const std::string& out) { return (std::filesystem::path(out) / "seeds.json").string(); }

bool is_seed_group(const std::string& out) {
  std::error_code ec;
  return std::filesystem::is_regular_file(seed_group_file(out), ec);
}

void write_seed_group(const std::string& out, const SeedGroupRecord& group, const nlohmann::json& provenance) {
  std::filesystem::create_directories(out);
  const nlohmann::json j{
      {"seeds", group.seeds}, {"jobs", group.jobs}, {"config", group.config}, {"provenance", provenance}};
  base::write_file_atomically(seed_group_file(out), j.dump(2) + "\n");
}

SeedGroupRecord read_seed_group(const std::string& out) {
  const auto path = seed_group_file(out);
  const auto j = read_json(path);
  SeedGroupRecord group;
  if (!j.contains("seeds") || !j.at("seeds").is_array() || j.at("seeds").empty())
    throw std::runtime_error(path + ": 'seeds' must be a non-empty list of seeds");
  for (const auto& s : j.at("seeds")) {
    if (!s.is_number_unsigned()) throw std::runtime_error(path + ": 'seeds' holds " + s.dump() + ", not a seed");
    group.seeds.push_back(s.get<uint64_t>());
  }
  if (!j.contains("config") || !j.at("config").is_object())
    throw std::runtime_error(path + ": 'config' must be a JSON object of settings");
  group.config = j.at("config");
  // Read whole (the caller checks its range): nlohmann's int would take 2^32 + 1 as 1, and 2.5 as 2.
  const auto jobs = j.value("jobs", nlohmann::json(1));
  if (!jobs.is_number_integer())
    throw std::runtime_error(path + ": 'jobs' is " + jobs.dump() + ", expected an integer");
  if (jobs.is_number_unsigned() && jobs.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    throw std::runtime_error(path + ": 'jobs' is " + jobs.dump() + ", expected a number of seeds trained at once");
  group.jobs = jobs.get<int64_t>();
  return group;
}

double behaviour_score(const nlohmann::json& config) {
  try {
    const auto& d = config.at("provenance").at("dataset");
    return d.contains("behaviour_score") && d.at("behaviour_score").is_number() ? d.at("behaviour_score").get<double>()
                                                                                : kNaN;
  } catch (const std::exception&) {
    return kNaN;
  }
}

double behaviour_score(const std::string& run_dir) {
  try {
    return behaviour_score(read_json((std::filesystem::path(run_dir) / "config.json").string()));
  } catch (const std::exception&) {
    return kNaN;
  }
}

std::vector<SeedRun> read_seed_runs(const std::string& out, const std::vector<uint64_t>& seeds) {
  std::vector<SeedRun> runs;
  for (uint64_t seed : seeds) {
    const auto dir = seed_folder(out, seed);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(dir + "/eval.csv", ec)) continue;
    runs.push_back({seed, dir, read_eval_csv(dir + "/eval.csv"), behaviour_score(dir)});
  }
  return runs;
}

std::pair<double, double> mean_and_std(const std::vector<double>& xs) {
  double sum = 0;
  for (double x : xs) sum += x;
  const double mean = sum / static_cast<double>(xs.size());
  if (xs.size() < 2) return {mean, kNaN};
  double squares = 0;
  for (double x : xs) squares += (x - mean) * (x - mean);
  return {mean, std::sqrt(squares / static_cast<double>(xs.size() - 1))};
}

double t_quantile(double p, double dof) {
  if (!(dof > 0)) throw std::invalid_argument("t_quantile: needs a positive number of degrees of freedom");
  if (!(p > 0 && p < 1)) throw std::invalid_argument("t_quantile: p must lie in (0, 1)");
  if (std::isinf(dof)) return boost::math::quantile(boost::math::normal(), p);  // t's limit
  return boost::math::quantile(boost::math::students_t(dof), p);
}

double t_quantile_975(int64_t dof) {
  if (dof < 1) throw std::invalid_argument("t_quantile_975: needs at least one degree of freedom");
  return t_quantile(0.975, static_cast<double>(dof));
}

std::vector<SeedSummaryRow> summarise_seeds(const std::vector<SeedRun>& runs) {
  // (update, target) -> each seed's score and return there (a resumed run's
  // log holds each point once: the rows past a resume were replaced).
  std::map<std::pair<int64_t, double>, std::pair<std::vector<double>, std::vector<double>>> points;
  for (const auto& run : runs)
    for (const auto& e : run.evals) {
      auto& p = points[{e.update, e.target}];
      p.first.push_back(e.score_mean), p.second.push_back(e.return_mean);
    }
  std::vector<SeedSummaryRow> rows;
  for (const auto& [key, values] : points) {
    SeedSummaryRow r;
    r.update = key.first, r.target = key.second, r.seeds = static_cast<int64_t>(values.first.size());
    std::tie(r.score_mean, r.score_std) = mean_and_std(values.first);
    std::tie(r.return_mean, r.return_std) = mean_and_std(values.second);
    const double half =
        r.seeds > 1 ? t_quantile_975(r.seeds - 1) * r.score_std / std::sqrt(static_cast<double>(r.seeds)) : kNaN;
    r.score_ci95_low = r.score_mean - half, r.score_ci95_high = r.score_mean + half;
    rows.push_back(r);
  }
  return rows;
}

const std::string& seed_summary_header() {
  static const std::string header =
      "update,target,seeds,score_mean,score_std,score_ci95_low,score_ci95_high,return_mean,return_std";
  return header;
}

std::string seed_summary_csv(const std::vector<SeedSummaryRow>& rows) {
  std::ostringstream csv;
  csv << seed_summary_header() << "\n";
  for (const auto& r : rows)
    csv << r.update << "," << r.target << "," << r.seeds << "," << cell(r.score_mean) << "," << cell(r.score_std) << ","
        << cell(r.score_ci95_low) << "," << cell(r.score_ci95_high) << "," << cell(r.return_mean) << ","
        << cell(r.return_std) << "\n";
  return csv.str();
}

std::vector<base::Series> eval_curves(const std::vector<EvalResult>& evals, const std::string& name,
                                      double only_target) {
  std::map<double, base::Series> by_target;
  for (const auto& e : evals) {
    if (only_target > 0 && e.target != only_target) continue;
    auto& s = by_target[e.target];
    s.x.push_back(static_cast<double>(e.update)), s.y.push_back(e.score_mean);
  }
  std::vector<base::Series> series;
  for (auto it = by_target.rbegin(); it != by_target.rend(); ++it) {
    it->second.name = target_name(name, it->first);
    series.push_back(it->second);
  }
  return series;
}

std::vector<base::Series> summary_curves(const std::vector<SeedSummaryRow>& rows, const std::string& name,
                                         double only_target) {
  std::map<double, base::Series> by_target;
  int64_t most_seeds = 0;
  for (const auto& r : rows) most_seeds = std::max(most_seeds, r.seeds);
  // Two seeds' 95% interval is +-12.7 standard errors (Student's t, 1 degree of freedom): drawn, it
  // fills the frame and flattens every line in it, so a band is drawn from 3 seeds (t = 4.3) on; the
  // legend says which (summary.csv keeps the interval at any count).
  const bool band = most_seeds >= 3;
  for (const auto& r : rows) {
    if (only_target > 0 && r.target != only_target) continue;
    auto& s = by_target[r.target];
    s.x.push_back(static_cast<double>(r.update)), s.y.push_back(r.score_mean);
    if (band) s.low.push_back(r.score_ci95_low), s.high.push_back(r.score_ci95_high);
  }
  const std::string seeds = most_seeds == 1 ? " (1 seed)"
                            : band          ? " (" + std::to_string(most_seeds) + " seeds, 95% CI)"
                                            : " (2 seeds, their mean; a band from 3 seeds)";
  std::vector<base::Series> series;
  for (auto it = by_target.rbegin(); it != by_target.rend(); ++it) {
    it->second.name = target_name(name, it->first) + seeds;
    series.push_back(it->second);
  }
  return series;
}

std::vector<SeedSummaryRow> write_seed_summary(const std::string& out, const std::vector<SeedRun>& runs,
                                               const std::string& title) {
  const auto rows = summarise_seeds(runs);
  base::write_file_atomically((std::filesystem::path(out) / "summary.csv").string(), seed_summary_csv(rows));
  base::PlotOptions options{title, "updates", "D4RL normalised score"};
  for (const auto& run : runs)
    if (std::isfinite(run.behaviour_score)) {
      options.references.push_back({run.behaviour_score, "the data's level " + three_significant(run.behaviour_score)});
      break;
    }
  std::string seeds;
  for (const auto& run : runs) seeds += (seeds.empty() ? "" : " ") + std::to_string(run.seed);
  options.caption = out + ": seeds " + seeds + "; mean over seeds, band the 95% interval (Student's t)";
  if (!rows.empty())
    base::write_svg((std::filesystem::path(out) / "eval.svg").string(), summary_curves(rows, ""), options);
  return rows;
}

}  // namespace aaren
