// aaren plot RUN... --out FILE.svg: the evaluation curves of several training
// runs and seed groups in one figure (d3rlpy's `plot` habit): a run draws its
// eval.csv, a seed group (aaren train --seeds) its mean over seeds with the 95%
// interval as a band; each dataset's level is a reference line, and so is each
// --reference (a published score: DT's 67.6 on hopper-medium, Chen et al. 2021, Table 2).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "agents/training/seed_summary.h"
#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/config_options.h"
#include "apps/provenance.h"
#include "base/format.h"
#include "base/numbers.h"
#include "base/svg_plot.h"

namespace aaren::cli {

namespace {
namespace fs = std::filesystem;

// One RUN argument: its curves and the level of its data (NaN: unknown).
struct PlottedRun {
  std::vector<base::Series> curves;
  double level = std::nan("");
  std::string dataset;
};

// The target to draw: "all", "high" (each run's highest, DT's headline) or a number.
double chosen_target(const std::string& target, const std::vector<double>& targets) {
  if (target == "all" || targets.empty()) return 0;
  if (target == "high") return *std::max_element(targets.begin(), targets.end());
  return std::stod(target);
}

std::string dataset_of(const std::string& run_dir) {
  std::ifstream in(run_dir + "/config.json");
  const auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  return j.is_object() ? fs::path(j.value("dataset", "")).filename().string() : "";
}

PlottedRun read_run(const std::string& path, const std::string& label, const std::string& target) {
  PlottedRun p;
  try {
    if (is_seed_group(path)) {
      const auto runs = read_seed_runs(path, read_seed_group(path).seeds);
      if (runs.empty()) throw InputError(path + ": a seed group none of whose seeds has evaluated yet");
      const auto rows = summarise_seeds(runs);
      std::vector<double> targets;
      for (const auto& r : rows) targets.push_back(r.target);
      p.curves = summary_curves(rows, label, chosen_target(target, targets));
      p.level = runs.front().behaviour_score, p.dataset = dataset_of(runs.front().dir);
    } else {
      const auto evals = read_eval_csv(path + "/eval.csv");
      std::vector<double> targets;
      for (const auto& e : evals) targets.push_back(e.target);
      p.curves = eval_curves(evals, label, chosen_target(target, targets));
      p.level = behaviour_score(path), p.dataset = dataset_of(path);
    }
  } catch (const std::runtime_error& e) {
    if (dynamic_cast<const InputError*>(&e)) throw;
    throw InputError(std::string(e.what()) + " (a RUN is a training run's folder or a seed group's)");
  }
  if (p.curves.empty()) throw InputError(path + ": no evaluation at --target " + target);
  return p;
}

// Legend names: each folder's own name, or its path where two names clash.
std::vector<std::string> labels_for(const std::vector<std::string>& runs) {
  std::map<std::string, int> count;
  for (const auto& r : runs) ++count[fs::path(r).lexically_normal().filename().string()];
  std::vector<std::string> labels;
  for (const auto& r : runs) {
    const auto name = fs::path(r).lexically_normal().filename().string();
    labels.push_back(count[name] > 1 || name.empty() ? fs::path(r).lexically_normal().string() : name);
  }
  return labels;
}

// --reference VALUE=LABEL: a line at VALUE (a normalised score) named LABEL.
base::ReferenceLine parse_reference(const std::string& given) {
  const auto eq = given.find('=');
  double y = 0;
  if (eq == std::string::npos || eq + 1 == given.size() || !base::parse_real(given.substr(0, eq), y) ||
      !std::isfinite(y))
    throw UsageError("--reference " + given + ": expected VALUE=LABEL, e.g. \"67.6=DT, Chen et al. 2021\"");
  return {y, given.substr(eq + 1)};
}
}  // namespace

// plot's settings, one described field each (flags, --help, docs/CLI-REFERENCE.md).
struct PlotSettings {
  std::vector<std::string> runs, labels;
  std::string references, out, target = "high", title;
  double data_level = std::nan("");

  static const std::vector<base::ConfigField<PlotSettings>>& fields() {
    using S = PlotSettings;
    using base::field;
    static const std::vector<base::ConfigField<S>> table{
        field("run", &S::runs, "training runs (folders with eval.csv) and seed groups (folders with seeds.json)"),
        field("out", &S::out, "the figure (SVG)"),
        field("target", &S::target,
              "the target return drawn: high (each run's highest, DT's headline), all, or a number"),
        field("labels", &S::labels, "legend names, one per RUN (default: the folders' names)"),
        field("title", &S::title, "the figure's title (default: the datasets)"),
        field("data-level", &S::data_level,
              "the data's normalised score, for runs whose config.json predates recording it ('aaren data inspect')"),
        field("reference", &S::references,
              "more horizontal lines: VALUE=LABEL (a normalised score and its name, e.g. a published score), several "
              "separated by ';'"),
    };
    return table;
  }
};

int run_plot(int argc, char** argv) {
  PlotSettings settings;
  boost::program_options::positional_options_description positional;
  positional.add("run", -1);
  boost::program_options::variables_map vm;
  if (!parse_config(argc, argv, "RUN... --out FILE.svg [options]", PlotSettings::fields(), settings, vm, &positional,
                    {"run", "out"}))
    return kExitOk;
  auto& [runs, labels, references, out, target, title, data_level] = settings;
  if (!labels.empty() && labels.size() != runs.size())
    throw UsageError("--labels: " + std::to_string(labels.size()) + (labels.size() == 1 ? " name" : " names") +
                     " for " + std::to_string(runs.size()) + " runs; give one per RUN");
  if (target != "all" && target != "high") {
    double t = 0;
    if (!base::parse_real(target, t) || t <= 0)
      throw UsageError("--target " + target + ": expected high, all or a positive return");
  }
  std::vector<base::ReferenceLine> extra_lines;
  for (size_t from = 0; from < references.size();) {  // "67.6=DT;43.0=the data" -> two lines
    const auto to = std::min(references.find(';', from), references.size());
    extra_lines.push_back(parse_reference(references.substr(from, to - from)));
    from = to + 1;
  }
  if (labels.empty()) labels = labels_for(runs);
  // It writes SVG: a mistyped --out (a run's eval.csv) is refused, not replaced by a figure.
  if (fs::path(out).extension() != ".svg") throw UsageError("--out " + out + ": expected a .svg file (plot draws SVG)");
  require_figure_output("out", out, "plot");
  std::vector<base::Series> series;
  std::map<std::string, double> levels;  // dataset -> its level
  std::set<std::string> datasets_seen;
  bool any_group = false;
  for (size_t i = 0; i < runs.size(); ++i) {
    auto p = read_run(runs[i], labels[i], target);
    series.insert(series.end(), p.curves.begin(), p.curves.end());
    if (std::isfinite(p.level)) levels.emplace(p.dataset, p.level);
    if (!p.dataset.empty()) datasets_seen.insert(p.dataset);
    any_group = any_group || is_seed_group(runs[i]);
  }
  if (std::isfinite(data_level) && levels.empty()) levels.emplace("", data_level);
  base::PlotOptions o{title, "updates", "D4RL normalised score"};
  for (const auto& [dataset, level] : levels)
    o.references.push_back({level, (levels.size() > 1 ? dataset + ": " : std::string()) + "the data's level " +
                                       base::three_significant(level)});
  o.references.insert(o.references.end(), extra_lines.begin(), extra_lines.end());
  std::string datasets;
  for (const auto& d : datasets_seen) datasets += (datasets.empty() ? "" : ", ") + d;
  if (o.title.empty()) o.title = datasets.empty() ? "evaluations" : datasets;
  o.caption = "target " + target +
              (any_group ? "; seed groups: mean over seeds, band the 95% interval (Student's t; from 3 seeds)"
                         : "; one seed per run");
  base::write_svg(out, series, o);
  save_config_next_to(out, {{"command", "plot"},
                            {"config", base::fields_to_json(settings, PlotSettings::fields())},
                            {"provenance", provenance(argc, argv)}});
  std::cout << "wrote " << out << " (" << series.size() << (series.size() == 1 ? " curve" : " curves") << ")\n";
  return kExitOk;
}

}  // namespace aaren::cli
