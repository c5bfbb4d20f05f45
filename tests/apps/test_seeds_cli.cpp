// Seeds as the unit: `aaren train --seeds` writes one ordinary run per seed
// and a summary computed from them (checked here from the per-seed eval.csv
// files, with Student's t written out), resumes only what is missing, leaves
// nothing behind when its input is refused; `aaren plot` draws runs and groups.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "agents/training/eval_log.h"
#include "agents/training/seed_summary.h"
#include "tests/apps/run_aaren.h"
#include "tests/data/fixtures.h"

using aaren::testing::read_lines;
using aaren::testing::run_aaren;

namespace {
const std::string kSeedsData = std::string(AAREN_SOURCE_DIR) + "/data/bundled/hopper-mixed-v0.hdf5";
const std::string kSeedsRun = "train --dataset " + kSeedsData +
                              " --backbone aaren --embed-dim 16 --layers 1 --aaren-batch 2 --chunk-steps 50 --warmup 5"
                              " --lr 3e-3 --dropout 0 --threads 1 --eval-episodes 2 --updates 4 --eval-every 2";

using aaren::testing::text_of;

// summary.csv as (update, target) -> its cells (empty cells kept).
std::map<std::pair<int64_t, double>, std::vector<std::string>> summary_rows(const std::string& path) {
  const auto lines = read_lines(path);
  REQUIRE(!lines.empty());
  CHECK(lines[0] == aaren::seed_summary_header());
  std::map<std::pair<int64_t, double>, std::vector<std::string>> rows;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> cells;
    std::istringstream row(lines[i] + ",");
    for (std::string cell; std::getline(row, cell, ',');) cells.push_back(cell);
    REQUIRE(cells.size() == 9);
    rows[{std::stoll(cells[0]), std::stod(cells[1])}] = cells;
  }
  return rows;
}

// summary.csv against the seeds' own eval.csv files: per point, each seed's
// mean over episodes; their mean, sample std and a 95% t interval over seeds.
void check_summary_against_seeds(const std::string& group, const std::vector<int>& seeds) {
  REQUIRE(seeds.size() == 3);  // t(0.975, 2 dof) below
  std::map<std::pair<int64_t, double>, std::vector<double>> scores;
  for (int seed : seeds) {
    const auto run = group + "/seed_" + std::to_string(seed);
    CHECK(aaren::testing::read_json(run + "/config.json").at("seed") == seed);
    for (const auto& e : aaren::read_eval_csv(run + "/eval.csv")) scores[{e.update, e.target}].push_back(e.score_mean);
  }
  const auto rows = summary_rows(group + "/summary.csv");
  REQUIRE(rows.size() == scores.size());
  REQUIRE(rows.size() == 4);  // updates 2 and 4 at DT's two hopper targets
  for (const auto& [point, xs] : scores) {
    REQUIRE(xs.size() == 3);
    const double mean = (xs[0] + xs[1] + xs[2]) / 3;
    double squares = 0;
    for (double x : xs) squares += (x - mean) * (x - mean);
    const double sd = std::sqrt(squares / 2);
    const double half = 4.302652729749464 * sd / std::sqrt(3.0);  // t(0.975, 2 dof)
    const auto& cells = rows.at(point);
    CHECK(cells[2] == "3");
    CHECK(std::stod(cells[3]) == Approx(mean).epsilon(1e-5).margin(1e-5));
    CHECK(std::stod(cells[4]) == Approx(sd).epsilon(1e-5).margin(1e-5));
    CHECK(std::stod(cells[5]) == Approx(mean - half).epsilon(1e-5).margin(1e-5));
    CHECK(std::stod(cells[6]) == Approx(mean + half).epsilon(1e-5).margin(1e-5));
  }
}
// aaren plot on a finished group: a group and a run in one figure, published
// scores as lines, quoted labels; bad references and outputs refused.
void check_plot_of_group(const std::string& dir, const std::string& group) {
  auto r = run_aaren("plot " + group + " " + group + "/seed_3 --out " + dir + "/both.svg");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto both = text_of(dir + "/both.svg");
  CHECK(both.find("group, target 3600 (3 seeds, 95% CI)") != std::string::npos);
  CHECK(both.find("seed_3, target 3600") != std::string::npos);
  CHECK(both.find("target 1800") == std::string::npos);  // --target high by default
  // A published score as one more line, told apart from the data's level by its dashes.
  r = run_aaren("plot " + group + " --reference '67.6=DT & co, Table 2;80=more' --out " + dir + "/ref.svg");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto ref = text_of(dir + "/ref.svg");
  CHECK(ref.find(">DT &amp; co, Table 2</text>") != std::string::npos);
  CHECK(ref.find("stroke-dasharray=\"12,4\"") != std::string::npos);
  CHECK(ref.find(">more</text>") != std::string::npos);
  // A quoted label is one name, spaces and all.
  r = run_aaren("plot " + group + " " + group + "/seed_3 --labels 'all seeds' 'seed three' --out " + dir + "/l.svg");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(text_of(dir + "/l.svg").find("all seeds, target 3600") != std::string::npos);
  CHECK(text_of(dir + "/l.svg").find("seed three, target 3600") != std::string::npos);
  for (const std::string bad : {"67.6", "=DT", "high=DT", "67.6="}) {
    r = run_aaren("plot " + group + " --reference '" + bad + "' --out " + dir + "/x.svg");
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("--reference " + bad + ": expected VALUE=LABEL") != std::string::npos);
  }
  CHECK_FALSE(std::filesystem::exists(dir + "/x.svg"));
  r = run_aaren("plot " + dir + "/nothing --out " + dir + "/x.svg");
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("nothing/eval.csv: no such file") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir + "/x.svg"));
  // A figure never replaces a run's file: --out must name an .svg.
  const auto evals = text_of(group + "/seed_3/eval.csv");
  r = run_aaren("plot " + group + "/seed_3 --out " + group + "/seed_3/eval.csv");
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("eval.csv: expected a .svg file") != std::string::npos);
  CHECK(text_of(group + "/seed_3/eval.csv") == evals);
}

}  // namespace

TEST_CASE("cli: train --seeds writes a run per seed and a summary that matches their eval.csv files", "[cli][seeds]") {
  const auto dir = aaren::testing::temp_dir("seeds");
  const std::string group = dir + "/group";
  auto r = run_aaren(kSeedsRun + " --seeds 3 5 8 --out " + group);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  check_summary_against_seeds(group, {3, 5, 8});
  // The figure: a band per target and the data's level as a line.
  const auto svg = text_of(group + "/eval.svg");
  CHECK(svg.find("<polygon") != std::string::npos);
  CHECK(svg.find("the data's level") != std::string::npos);
  CHECK(r.output.find("over 3 seeds") != std::string::npos);
  // A new group into it is refused, naming the --resume that continues it (its seeds.json).
  const auto again = run_aaren(kSeedsRun + " --seeds 3 5 --out " + group);
  CHECK(again.exit_code == 2);
  CHECK(again.output.find("holds a run (seeds.json); continue it with --resume " + group) != std::string::npos);

  SECTION("resuming finishes the missing seeds only") {
    const auto seed3 = group + "/seed_3", seed5 = group + "/seed_5", seed8 = group + "/seed_8";
    const auto finished = text_of(seed3 + "/eval.csv") + text_of(seed3 + "/config.json");
    const auto seed8_evals = text_of(seed8 + "/eval.csv");
    // Seed 5 stopped half way (its run at 2 of 4 updates); seed 8 never started: its folder holds
    // a name no run writes (a 20-digit update), which is no checkpoint to continue from.
    r = run_aaren("train --config " + group + "/seeds.json --seed 5 --updates 2 --overwrite --out " + seed5);
    REQUIRE(r.exit_code == 0);
    std::filesystem::remove_all(seed8);
    std::filesystem::create_directories(seed8);
    std::ofstream(seed8 + "/checkpoint_99999999999999999999.pt") << "not a checkpoint";
    r = run_aaren("train --resume " + group);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK(r.output.find("seed 3: finished already") != std::string::npos);
    CHECK(r.output.find("seed 5: continuing") != std::string::npos);
    CHECK(r.output.find("seed 8: starting") != std::string::npos);
    CHECK(text_of(seed3 + "/eval.csv") + text_of(seed3 + "/config.json") == finished);  // untouched
    CHECK(aaren::read_eval_csv(seed5 + "/eval.csv").back().update == 4);
    CHECK(text_of(seed8 + "/eval.csv") == seed8_evals);  // the same seed, the same run
    CHECK(summary_rows(group + "/summary.csv").at({4, 3600.0})[2] == "3");
    // Nothing left: every seed finished already.
    r = run_aaren("train --resume " + group);
    CHECK(r.exit_code == 0);
    CHECK(r.output.find("starting") == std::string::npos);
    CHECK(r.output.find("continuing") == std::string::npos);
  }
  SECTION("a seeds.json edited to numbers nlohmann would convert is refused by name, the group untouched") {
    const auto file = group + "/seeds.json";
    const auto original = text_of(file), seed3 = text_of(group + "/seed_3/eval.csv");
    // (Before: jobs 2^32 + 1 ran 1 at a time, updates 2.5 trained 2.)
    for (const auto& [key, value, message] : std::vector<std::tuple<std::string, std::string, std::string>>{
             {"jobs", "4294967297", "'jobs' is 4294967297, expected 1 to 64 (or give --jobs)"},
             {"jobs", "1.5", "'jobs' is 1.5, expected an integer"},
             {"updates", "2.5", "'config.updates' is 2.5, expected an integer >= 1 (or give --updates)"},
             {"updates", "\"4\"", "'config.updates' is \"4\", expected an integer >= 1 (or give --updates)"}}) {
      auto j = aaren::testing::read_json(file);
      (key == "jobs" ? j["jobs"] : j["config"]["updates"]) = nlohmann::json::parse(value);
      std::ofstream(file) << j.dump(2);
      r = run_aaren("train --resume " + group);
      INFO(r.output);
      CHECK(r.exit_code == 2);
      CHECK(r.output.find(file + ": " + message) != std::string::npos);
      CHECK(text_of(group + "/seed_3/eval.csv") == seed3);
      std::ofstream(file) << original;
    }
  }
  SECTION("aaren plot draws a group and a run in one figure, and published scores as lines") {
    check_plot_of_group(dir, group);
  }
}

TEST_CASE("cli: train --seeds refuses contradictions and leaves nothing behind on a refused input", "[cli][seeds]") {
  const auto dir = aaren::testing::temp_dir("seeds_refused");
  auto r = run_aaren(kSeedsRun + " --seeds 1 2 --seed 4 --out " + dir + "/a");
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("--seed and --seeds") != std::string::npos);
  r = run_aaren(kSeedsRun + " --seeds 1 1 --out " + dir + "/a");
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("listed twice") != std::string::npos);
  r = run_aaren(kSeedsRun + " --seeds 1 2 --env walker2d --out " + dir + "/bad");  // refused by the first seed
  CHECK(r.exit_code == 2);
  CHECK_FALSE(std::filesystem::exists(dir + "/bad"));
  // Seeds at once (their output in logs): the first failure's reason is still shown, and nothing is left.
  r = run_aaren("train --backbone aaren --updates 2 --seeds 1 2 --jobs 2 --dataset " + dir + "/missing.hdf5 --out " +
                dir + "/bad2");
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("missing.hdf5") != std::string::npos);
  CHECK(r.output.find("continue with") == std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir + "/bad2"));
}

TEST_CASE("cli: every preset in configs/ is a train config, and a preset runs what its flags run", "[cli][presets]") {
  const auto dir = aaren::testing::temp_dir("presets");
  int presets = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(std::string(AAREN_SOURCE_DIR) + "/configs")) {
    if (entry.path().extension() != ".json") continue;
    INFO(entry.path().string());
    // Resolved and validated as a run would be (on a small file in place of its dataset): every key the
    // preset sets is a setting the run takes as written.
    const auto r = run_aaren(
        "train --config " + entry.path().string() + " --dataset " + kSeedsData + " --out " + dir + "/x --print-config",
        false);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    const auto resolved = nlohmann::json::parse(r.output);
    const auto settings = aaren::testing::read_json(entry.path().string());
    for (const auto& [key, value] : settings.items()) {
      INFO(key);
      if (key != "dataset") CHECK(resolved.value(key, nlohmann::json()) == value);
    }
    CHECK_FALSE(std::filesystem::exists(dir + "/x"));
    ++presets;
  }
  CHECK(presets >= 25);  // DT's nine, the protocol's nine, the first table's seven
  // The check bites: a preset with a value the run refuses is refused, in one line naming the setting.
  for (const auto& [bad, flag] : std::vector<std::pair<std::string, std::string>>{
           {R"({"heads": 3})", "--heads"}, {R"({"dropout": 1.5})", "--dropout"}}) {
    std::ofstream(dir + "/bad.json") << bad;
    aaren::testing::check_refused_in_one_line(
        "train --config " + dir + "/bad.json --dataset " + kSeedsData + " --out " + dir + "/x --print-config", flag);
  }
  // The protocol's preset against the flags it stands for (its schedule shortened alike in both).
  const std::string shortened = " --dataset " + kSeedsData + " --updates 2 --eval-every 2 --eval-episodes 2 --seed 4";
  auto r = run_aaren("train --config " + std::string(AAREN_SOURCE_DIR) + "/configs/protocol/hopper-medium.json" +
                     " --backbone aaren --aaren-batch 2 --chunk-steps 200" + shortened + " --out " + dir + "/preset");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  r = run_aaren(
      "train --backbone aaren --aaren-batch 2 --chunk-steps 200 --lr 1e-4 --weight-decay 1e-4 --warmup 10000"
      " --lr-schedule constant --dropout 0.1 --precision fp32 --threads 1 --checkpoint-every 1000" +
      shortened + " --out " + dir + "/flags");
  REQUIRE(r.exit_code == 0);
  auto preset = aaren::testing::read_json(dir + "/preset/config.json");
  auto flags = aaren::testing::read_json(dir + "/flags/config.json");
  for (auto* j : {&preset, &flags}) j->erase("provenance"), j->erase("out");
  CHECK(preset == flags);
  CHECK(text_of(dir + "/preset/eval.csv") == text_of(dir + "/flags/eval.csv"));
}

TEST_CASE("cli: Ctrl-C at a terminal stops a seed group with a checkpoint and says how to continue", "[cli][seeds]") {
  const auto dir = aaren::testing::temp_dir("seeds_ctrl_c");
  const std::string group = dir + "/group";
  const int code = aaren::testing::interrupt_like_a_terminal(
      "train --dataset " + kSeedsData +
          " --backbone aaren --embed-dim 16 --layers 1 --aaren-batch 2 --chunk-steps 50 --warmup 5 --dropout 0"
          " --threads 1 --eval-episodes 1 --updates 100000 --seeds 1 2 --out " +
          group,
      dir + "/console.log", [&] { return read_lines(group + "/seed_1/train_log.csv").size() >= 6; });
  const auto printed = text_of(dir + "/console.log");
  INFO(printed);
  CHECK(code == 130);
  CHECK(printed.find("stopped with 2 of 2 seeds unfinished; continue with: aaren train --resume " + group) !=
        std::string::npos);
  bool checkpoint = false;
  for (const auto& e : std::filesystem::directory_iterator(group + "/seed_1"))
    checkpoint |= e.path().filename().string().rfind("checkpoint_", 0) == 0;
  CHECK(checkpoint);
  CHECK_FALSE(std::filesystem::exists(group + "/seed_2"));  // not started
}
