// aaren versus on a study laid out as scripts/protocol-cell.sh lays it out
// (DATASET/ARM-seedN/ with config.json, eval.csv and eval-final.json): which runs
// count, the scores it takes from each curve, the numbers and verdicts it prints
// and writes (against agents/training/equivalence.h on the same scores), and
// its refusals.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "agents/training/equivalence.h"
#include "base/format.h"
#include "tests/apps/run_aaren.h"
#include "tests/data/fixtures.h"

using aaren::testing::read_lines;
using aaren::testing::run_aaren;
using aaren::testing::run_aaren_stderr;

namespace {
namespace fs = std::filesystem;

// A run of `updates` updates evaluated every 1000 at 3600 and 1800; the score at
// 3600 of point k is base + k, so the last three average base + n - 1. Its
// eval-final.json repeats the last point (its seed) over 50 episodes with the mean
// `final_mean` (by default the point's own score; negative: no file).
void write_run(const fs::path& dir, int64_t updates, int64_t evaluated_to, double base,
               double final_mean = std::nan("")) {
  fs::create_directories(dir);
  std::ofstream(dir / "config.json") << nlohmann::json{
      {"updates", updates},
      {"eval_every", 1000},
      {"eval_targets", {3600.0, 1800.0}}}.dump();
  std::ofstream eval(dir / "eval.csv");
  eval << "update,target,return_mean,return_std,score_mean,score_std,seed,episodes\n";
  const int64_t last = evaluated_to / 1000 * 1000;
  for (int64_t u = 1000, k = 1; u <= evaluated_to; u += 1000, ++k)
    eval << u << ",3600,0,0," << base + k << ",0," << 100 * u << ",10\n" << u << ",1800,0,0,7,0," << 100 * u << ",10\n";
  if (std::isnan(final_mean)) final_mean = base + static_cast<double>(last / 1000);
  if (final_mean >= 0)
    std::ofstream(dir / "eval-final.json") << nlohmann::json{
        {"config", {{"target_return", 3600.0}, {"seed", 100 * last}, {"episodes", 50}}},
        {"score_mean", final_mean}}.dump();
}

}  // namespace

TEST_CASE("cli: versus scores each finished run from its curve and prints Welch's verdict per dataset",
          "[cli][versus]") {
  const fs::path root = aaren::testing::temp_dir("versus");
  // hopper-medium: Aaren 3 seeds (one with a 50-episode last point), Transformer 3, an unfinished Aaren seed.
  write_run(root / "hopper-medium/aaren-seed1", 4000, 4000, 40);
  write_run(root / "hopper-medium/aaren-seed2", 4000, 4000, 42);
  write_run(root / "hopper-medium/aaren-seed3", 4000, 4000, 38, /*final_mean=*/50);
  write_run(root / "hopper-medium/aaren-seed4", 4000, 2000, 90);
  for (int seed : {1, 2, 3})
    write_run(root / ("hopper-medium/transformer-seed" + std::to_string(seed)), 4000, 4000, 40 + seed);
  // walker2d-medium: one seed of the Transformer only: left out of the comparison.
  write_run(root / "walker2d-medium/aaren-seed1", 4000, 4000, 60);
  write_run(root / "walker2d-medium/aaren-seed2", 4000, 4000, 61);
  write_run(root / "walker2d-medium/transformer-seed1", 4000, 4000, 60);

  auto r = run_aaren("versus " + root.string() + " --out " + (root / "versus.csv").string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("aaren-seed4: left out: unfinished (evaluated to 2000 of 4000)") != std::string::npos);
  CHECK(r.output.find("walker2d-medium: 2 and 1 finished seeds: needs 2 per arm") != std::string::npos);
  // Scores: the mean of points 2, 3, 4 = base + 3 (seed 3's last point is its final 50 episodes).
  const std::vector<double> aaren{43, 45, (38 + 2 + 38 + 3 + 50) / 3.0}, transformer{44, 45, 46};
  const auto expected = aaren::welch_difference(aaren, transformer, 0.9, 5);
  const auto rows = read_lines((root / "versus.csv").string());
  REQUIRE(rows.size() == 3);  // header, hopper-medium, pooled
  CHECK(rows[0] == "dataset,seeds_a,mean_a,std_a,seeds_b,mean_b,std_b,d,se,dof,low,high,verdict");
  std::vector<std::string> cells;
  std::stringstream row(rows[1]);
  for (std::string c; std::getline(row, c, ',');) cells.push_back(c);
  REQUIRE(cells.size() == 13);
  CHECK(cells[0] == "hopper-medium");
  CHECK(cells[1] == "3");
  CHECK(std::stod(cells[2]) == Approx(expected.a.mean).epsilon(1e-5));
  CHECK(std::stod(cells[7]) == Approx(expected.d).epsilon(1e-5));
  CHECK(std::stod(cells[10]) == Approx(expected.low).epsilon(1e-5));
  CHECK(std::stod(cells[11]) == Approx(expected.high).epsilon(1e-5));
  CHECK(cells[12] == aaren::to_string(expected.verdict));
  CHECK(rows[2].rfind("pooled,", 0) == 0);
  // The resolved settings beside the CSV, with the runs read (each one's folder and score) and what ran it.
  const auto settings = nlohmann::json::parse(std::ifstream(root / "versus.config.json"));
  CHECK(settings.at("config").at("last") == 3);
  CHECK(settings.at("runs").at("hopper-medium").at("aaren").size() == 3);  // the unfinished seed 4 left out
  CHECK(settings.at("runs").at("hopper-medium").at("aaren").at("3").at("score").get<double>() == Approx(aaren[2]));
  CHECK(settings.at("runs").at("hopper-medium").at("transformer").at("1").at("dir") ==
        (root / "hopper-medium/transformer-seed1").string());
  CHECK(settings.at("provenance").contains("commit"));
  CHECK(r.output.find("| hopper-medium | ") != std::string::npos);
  // The printed row carries the interval's half-width beside the verdict.
  CHECK(r.output.find("| half-width |") != std::string::npos);
  CHECK(r.output.find("| " + aaren::base::three_significant((expected.high - expected.low) / 2) + " | " +
                      aaren::to_string(expected.verdict) + " |") != std::string::npos);

  // --last 1 --final 0: the last point alone, eval-final.json ignored.
  r = run_aaren("versus " + root.string() + " --last 1 --final 0 --json", /*merge_stderr=*/false);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.output);
  CHECK(j.at("datasets").at(0).at("scores").at("aaren").at("3").get<double>() == Approx(42));
  CHECK(j.at("datasets").size() == 1);
}

TEST_CASE("cli: versus --curves draws each dataset's arms, controls after them, mean and band over finished seeds",
          "[cli][versus]") {
  const fs::path root = aaren::testing::temp_dir("versus_curves");
  for (int seed : {1, 2, 3}) {
    write_run(root / ("hopper-medium/aaren-seed" + std::to_string(seed)), 4000, 4000, 40 + seed);
    write_run(root / ("hopper-medium/transformer-seed" + std::to_string(seed)), 4000, 4000, 30 + 2 * seed);
  }
  write_run(root / "hopper-medium/bc-seed1", 4000, 4000, 20);
  write_run(root / "hopper-medium/bc-seed2", 4000, 4000, 22);           // 2 seeds: their mean, no band
  write_run(root / "hopper-medium/transformer-seed4", 4000, 2000, 90);  // unfinished: not drawn
  write_run(root / "walker2d-medium/aaren-seed1", 4000, 4000, 60);
  const auto curves = root / "curves";
  const auto r = run_aaren("versus " + root.string() + " --curves " + curves.string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto read = [](const fs::path& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const auto hopper = read(curves / "hopper-medium.svg");
  // The compared arms first, the control after them; one curve each at the high target.
  const auto a = hopper.find("aaren, target 3600 (3 seeds, 95% CI)"),
             t = hopper.find("transformer, target 3600 (3 seeds, 95% CI)"),
             bc = hopper.find("bc, target 3600 (2 seeds, their mean; a band from 3 seeds)");
  REQUIRE(a != std::string::npos);
  REQUIRE(t != std::string::npos);
  REQUIRE(bc != std::string::npos);
  CHECK(a < t);
  CHECK(t < bc);
  CHECK(hopper.find("target 1800") == std::string::npos);
  // The printed scores of every arm, the control beside the compared two; "-" where an arm has no seed.
  // (A run's score: the mean of its last 3 points, base + 2, + 3, + 4: base + 3.)
  CHECK(r.output.find("| dataset | aaren | transformer | bc |") != std::string::npos);
  CHECK(r.output.find("| hopper-medium | 45.0 +- 1.00 (3) | 37.0 +- 2.00 (3) | 24.0 +- 1.41 (2) |") !=
        std::string::npos);
  CHECK(r.output.find("| walker2d-medium | 63.0 (1) | - | - |") != std::string::npos);
  // Two bands (the 3-seed arms); 2 seeds' interval (+-12.7 SE) is not drawn. (Markers are polygons too.)
  const std::string kBand = "fill-opacity=\"0.18\"";
  size_t bands = 0;
  for (size_t at = hopper.find(kBand); at != std::string::npos; at = hopper.find(kBand, at + 1)) ++bands;
  CHECK(bands == 2);
  // A dataset the comparison leaves out (one arm, one seed) still gets its figure.
  CHECK(read(curves / "walker2d-medium.svg").find("aaren, target 3600 (1 seed)") != std::string::npos);
  // --target 1800 draws that target instead.
  const auto low = run_aaren("versus " + root.string() + " --target 1800 --curves " + (root / "low").string());
  REQUIRE(low.exit_code == 0);
  CHECK(read(root / "low/hopper-medium.svg").find("aaren, target 1800 (3 seeds, 95% CI)") != std::string::npos);
  // Before any dataset can be compared, the curves so far are drawn and the refusal still said.
  const auto early = run_aaren("versus " + root.string() + " --arms aaren lstm --curves " + (root / "early").string());
  CHECK(early.exit_code != 0);
  CHECK(early.output.find("no dataset with 2 finished seeds of both arms") != std::string::npos);
  CHECK(fs::exists(root / "early/walker2d-medium.svg"));
}

TEST_CASE("cli: versus --curves records what drew them and keeps a user's figure of the same name", "[cli][versus]") {
  const fs::path root = aaren::testing::temp_dir("versus_curves_record");
  for (int seed : {1, 2})
    for (const std::string arm : {"aaren", "transformer"})
      write_run(root / ("hopper-medium/" + arm + "-seed" + std::to_string(seed)), 4000, 4000, 40 + seed);
  const auto curves = root / "curves";
  auto r = run_aaren("versus " + root.string() + " --curves " + curves.string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  std::ifstream in(curves / "versus.config.json");
  const auto record = nlohmann::json::parse(in);
  CHECK(record.at("command") == "versus");
  CHECK(record.at("config").at("curves") == curves.string());
  CHECK(record.at("runs").at("hopper-medium").at("aaren").size() == 2);
  CHECK(record.at("runs").at("hopper-medium").at("transformer").size() == 2);
  CHECK_FALSE(record.at("provenance").at("commit").get<std::string>().empty());
  // Its own earlier figures are drawn over.
  CHECK(run_aaren("versus " + root.string() + " --curves " + curves.string()).exit_code == 0);
  // A folder whose hopper-medium.svg has no versus record beside it: refused in one line, the file kept.
  const auto mine = root / "mine";
  fs::create_directories(mine);
  std::ofstream(mine / "hopper-medium.svg") << "<svg>a user's</svg>";
  r = run_aaren("versus " + root.string() + " --curves " + mine.string());
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("--curves " + mine.string() + ": not an earlier output of 'versus' (" +
                      (mine / "hopper-medium.svg").string() + " exists with no " +
                      (mine / "versus.config.json").string() + " beside it)") != std::string::npos);
  std::ifstream kept(mine / "hopper-medium.svg");
  CHECK(std::string(std::istreambuf_iterator<char>(kept), {}) == "<svg>a user's</svg>");
  CHECK_FALSE(fs::exists(mine / "versus.config.json"));
}

// The protocol reads a dataset from 3 seeds per arm: with 2 its interval is shown
// for scale, its verdict "none yet", and it stays out of the pooled difference.
TEST_CASE("cli: versus gives no verdict before --min-seeds per arm, and pools only the datasets with one",
          "[cli][versus]") {
  const fs::path root = aaren::testing::temp_dir("versus_min_seeds");
  for (int seed : {1, 2, 3}) {
    write_run(root / ("hopper-medium/aaren-seed" + std::to_string(seed)), 4000, 4000, 40 + seed);
    write_run(root / ("hopper-medium/transformer-seed" + std::to_string(seed)), 4000, 4000, 41 + seed);
  }
  for (int seed : {1, 2}) {  // far apart: at 2 seeds a verdict would read as one
    write_run(root / ("walker2d-medium/aaren-seed" + std::to_string(seed)), 4000, 4000, 60 + seed);
    write_run(root / ("walker2d-medium/transformer-seed" + std::to_string(seed)), 4000, 4000, 20 + seed);
  }
  auto r = run_aaren("versus " + root.string() + " --json", /*merge_stderr=*/false);
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.output);
  REQUIRE(j.at("datasets").size() == 2);
  CHECK(j.at("datasets").at(0).at("dataset") == "hopper-medium");
  CHECK(j.at("datasets").at(0).at("verdict") != "none yet");
  CHECK(j.at("datasets").at(1).at("verdict") == "none yet");
  CHECK(j.at("datasets").at(1).at("d").get<double>() == Approx(40));  // the interval still shown
  const auto hopper = aaren::welch_difference({43, 44, 45}, {44, 45, 46}, 0.9, 5);
  CHECK(j.at("pooled").at("datasets") == 1);
  CHECK(j.at("pooled").at("d").get<double>() == Approx(hopper.d));
  // --min-seeds 2: both have a verdict and both are pooled.
  r = run_aaren("versus " + root.string() + " --min-seeds 2 --json", false);
  REQUIRE(r.exit_code == 0);
  j = nlohmann::json::parse(r.output);
  CHECK(j.at("datasets").at(1).at("verdict") == "better");
  CHECK(j.at("pooled").at("datasets") == 2);
  // Only datasets without a verdict: the table says so, no pooled line, no pooled CSV row.
  fs::remove_all(root / "hopper-medium");
  r = run_aaren("versus " + root.string() + " --out " + (root / "v.csv").string());
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("| none yet |") != std::string::npos);
  CHECK(r.output.find("pooled: no dataset has a verdict yet") != std::string::npos);
  const auto rows = read_lines((root / "v.csv").string());
  REQUIRE(rows.size() == 2);
  CHECK(rows[1].find(",none yet") != std::string::npos);
}

TEST_CASE("cli: versus refuses bad input in one line", "[cli][versus]") {
  const fs::path root = aaren::testing::temp_dir("versus_bad");
  write_run(root / "hopper-medium/aaren-seed1", 4000, 4000, 40);
  write_run(root / "hopper-medium/transformer-seed1", 4000, 4000, 40);
  const auto refused = [](const std::string& args, const std::string& what) {
    aaren::testing::check_refused_in_one_line("versus " + args, what);
  };
  refused((root / "nothing").string(), "no such folder (the study's root)");
  refused(root.string(), "no dataset with 2 finished seeds of both arms");
  refused(root.string() + " --arms aaren", "--arms: expected two different arms");
  refused(root.string() + " --level 1.5", "--level 1.5: expected a level in (0, 1)");
  refused(root.string() + " --margin 0", "--margin 0: expected a positive margin");
  refused(root.string() + " --min-seeds 1", "--min-seeds 1: expected at least 2");
  refused(root.string() + " --target fast", "--target fast: expected high or a positive return");
}

// A run's record is checked before it is scored: a log that repeats or skips a point,
// outruns its config, or an eval-final.json that is not its last point again, would
// be scored wrong without a word; a finished run without its config.json would drop
// a seed. Each is refused in one line naming the file; the study without damage passes.
TEST_CASE("cli: versus refuses a run record it cannot score as written, in one line naming the file", "[cli][versus]") {
  const fs::path root = aaren::testing::temp_dir("versus_records");
  const auto study = [&](const std::string& name) {
    const auto dir = root / name;
    for (int seed : {1, 2}) {
      write_run(dir / ("d/aaren-seed" + std::to_string(seed)), 4000, 4000, 40 + seed);
      write_run(dir / ("d/transformer-seed" + std::to_string(seed)), 4000, 4000, 40 - seed);
    }
    return dir;
  };
  const auto append = [](const fs::path& file, const std::string& text) { std::ofstream(file, std::ios::app) << text; };
  const auto refused = [](const fs::path& dir, const std::string& what) {
    aaren::testing::check_refused_in_one_line("versus " + dir.string(), what);
  };
  REQUIRE(run_aaren_stderr("versus " + study("sound").string()).exit_code == 0);
  // A target eval.csv writes to 6 significant digits still matches the config's full one.
  auto dir = study("precise_target");
  std::ofstream(dir / "d/aaren-seed1/config.json") << R"({"updates": 4000, "eval_every": 1000,
      "eval_targets": [3600.0000123, 1800]})";
  CHECK(run_aaren_stderr("versus " + dir.string()).exit_code == 0);
  dir = study("repeat");
  append(dir / "d/aaren-seed1/eval.csv", "4000,3600,0,0,99,0,400000,10\n");
  refused(dir, "aaren-seed1/eval.csv: update 4000 at target 3600 appears twice");
  dir = study("gap");
  write_run(dir / "d/aaren-seed1", 4000, 4000, 40);
  std::ofstream(dir / "d/aaren-seed1/eval.csv") << "update,target,return_mean,return_std,score_mean,score_std,seed,"
                                                   "episodes\n1000,3600,0,0,1,0,1,10\n2000,3600,0,0,1,0,1,10\n"
                                                   "4000,3600,0,0,1,0,400000,10\n";
  refused(dir, "aaren-seed1/eval.csv: no evaluation at update 3000 at target 3600");
  dir = study("overrun");
  append(dir / "d/transformer-seed2/eval.csv", "5000,1800,0,0,1,0,1,10\n");
  refused(dir, "transformer-seed2/eval.csv: update 5000 at target 1800 lies past the run's 4000 updates");
  dir = study("another_point");
  write_run(dir / "d/aaren-seed2", 4000, 4000, 42);
  std::ofstream(dir / "d/aaren-seed2/eval-final.json") << R"({"config": {"target_return": 3600, "seed": 123,
      "episodes": 50}, "score_mean": 1})";
  refused(dir, "aaren-seed2/eval-final.json: episodes from seed 123, the last point's from 400000");
  dir = study("fewer_episodes");
  std::ofstream(dir / "d/aaren-seed2/eval-final.json") << R"({"config": {"target_return": 3600, "seed": 400000,
      "episodes": 5}, "score_mean": 1})";
  refused(dir, "aaren-seed2/eval-final.json: 5 episodes, fewer than the last point's 10");
  dir = study("cut_short");
  std::ofstream(dir / "d/aaren-seed2/eval-final.json") << R"({"config": {"target_ret)";
  refused(dir, "aaren-seed2/eval-final.json: not a rollout's JSON");
  dir = study("no_config");
  fs::remove(dir / "d/transformer-seed1/config.json");
  refused(dir, "transformer-seed1/config.json: missing or not a JSON object");
  dir = study("fraction");
  std::ofstream(dir / "d/transformer-seed1/config.json") << R"({"updates": 4000.5})";
  refused(dir, "transformer-seed1/config.json: 'updates' is 4000.5: expected a whole number");
  dir = study("no_high_target");
  std::ofstream(dir / "d/aaren-seed1/config.json") << R"({"updates": 4000, "eval_targets": [7200, 3600]})";
  refused(dir, "aaren-seed1/eval.csv: no evaluation at update 4000 at target 7200");
  dir = study("seed_twice");
  write_run(dir / "d/aaren-seed01", 4000, 4000, 50);
  refused(dir, ": seed 1 of aaren twice");
  dir = study("schedules");
  for (int seed : {1, 2}) write_run(dir / ("d/transformer-seed" + std::to_string(seed)), 5000, 5000, 40);
  refused(dir, "the arms compared must share the schedule");
  dir = study("schedules_in_an_arm");
  write_run(dir / "d/aaren-seed3", 5000, 5000, 40);
  refused(dir, "updates, but ");
  // Without eval-final.json the last point counts over its own episodes, and says so.
  dir = study("no_final");
  fs::remove(dir / "d/aaren-seed1/eval-final.json");
  const auto r = run_aaren_stderr("versus " + dir.string());
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("aaren-seed1: no eval-final.json: its last point counts over its 10 episodes"));
}
