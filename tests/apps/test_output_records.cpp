// Outputs beside a run's folder (tables, figures, videos' and policies' records, datasets)
// say what wrote them, and replace nothing of the user's.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "base/file_hash.h"
#include "bench/policy_bench.h"
#include "bench/train_bench.h"
#include "data/hdf5_io.h"
#include "tests/apps/run_aaren.h"
#include "tests/data/fixtures.h"

using aaren::testing::check_refused_in_one_line;
using aaren::testing::run_aaren;
using aaren::testing::text_of;

namespace {
nlohmann::json json_of(const std::string& path) { return nlohmann::json::parse(text_of(path)); }

// A record names the command that wrote it and what ran it (the build's commit, the command line).
void check_record(const std::string& path, const std::string& command) {
  INFO(path);
  REQUIRE(std::filesystem::exists(path));
  const auto j = json_of(path);
  CHECK(j.at("command") == command);
  CHECK_FALSE(j.at("provenance").at("commit").get<std::string>().empty());
  CHECK(j.at("provenance").at("command").size() > 1);
}

const std::string kScan =
    "bench scan --lengths 3 --heads 1 --batch-size 1 --embed-dim 8 --min-rounds 1 --min-seconds 0 ";
}  // namespace

TEST_CASE("cli: a table replaces only its command's earlier table: a run's eval.csv, another's table are kept",
          "[cli]") {
  const auto dir = aaren::testing::temp_dir("cli_table_outputs");
  std::filesystem::create_directories(dir + "/run");
  const std::string evals = dir + "/run/eval.csv", mine = "update,target\n1,3600\n";
  std::ofstream(evals) << mine;
  // A file with no record beside it is the user's: refused, kept, no record written.
  check_refused_in_one_line(kScan + "--csv " + evals, "--csv " + evals + ": not an earlier output of 'bench scan' (" +
                                                          evals + " exists with no " + dir + "/run/eval.config.json");
  check_refused_in_one_line("versus " + dir + " --out " + evals, "not an earlier output of 'versus'");
  CHECK(text_of(evals) == mine);
  CHECK_FALSE(std::filesystem::exists(dir + "/run/eval.config.json"));

  // The command's own table is written over, with its record.
  const std::string table = dir + "/scan.csv";
  REQUIRE(run_aaren(kScan + "--csv " + table).exit_code == 0);
  check_record(dir + "/scan.config.json", "bench scan");
  std::ofstream(table) << "stale\n";
  REQUIRE(run_aaren(kScan + "--csv " + table).exit_code == 0);
  CHECK(text_of(table).rfind("heads,tokens,", 0) == 0);
  // Another command's table, or a record that is not one, is kept.
  check_refused_in_one_line("versus " + dir + " --out " + table, dir + "/scan.config.json names 'bench scan'");
  std::ofstream(dir + "/notes.config.json") << "my notes";
  check_refused_in_one_line(kScan + "--csv " + dir + "/notes.csv", "notes.config.json exists and is not");
  CHECK(text_of(dir + "/notes.config.json") == "my notes");
  CHECK_FALSE(std::filesystem::exists(dir + "/notes.csv"));
}

TEST_CASE("cli: bench data writes its file under a new name and keeps a user's, and needs its --workdir", "[cli]") {
  const auto dir = aaren::testing::temp_dir("cli_bench_data_workdir");
  const std::string old_name = dir + "/aaren_bench_data_0.hdf5";  // the name it used to write and delete
  std::ofstream(old_name) << "the user's file";
  const auto r = run_aaren("bench data --transitions 2000 --seconds 0.01 --seed 0 --workdir " + dir);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(text_of(old_name) == "the user's file");
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) files += entry.is_regular_file();
  CHECK(files == 1);  // its own file removed
  check_refused_in_one_line("bench data --transitions 2000 --workdir " + dir + "/none --csv " + dir + "/d.csv",
                            "--workdir " + dir + "/none: no such folder");
  CHECK_FALSE(std::filesystem::exists(dir + "/d.csv"));
}

TEST_CASE("cli: figures, plots, policies and datasets carry what wrote them (plot, bench --plot, export, collect)",
          "[cli]") {
  const auto dir = aaren::testing::temp_dir("cli_output_records");
  const std::string data = AAREN_SOURCE_DIR "/data/bundled/hopper-mixed-v0.hdf5";
  REQUIRE(run_aaren("train --dataset " + data +
                    " --backbone aaren --embed-dim 16 --layers 1 --updates 2 --warmup 1 --eval-every 1 "
                    "--eval-episodes 1 --threads 1 --out " +
                    dir + "/run")
              .exit_code == 0);
  REQUIRE(run_aaren("plot " + dir + "/run --out " + dir + "/fig.svg").exit_code == 0);
  check_record(dir + "/fig.svg.config.json", "plot");
  CHECK(json_of(dir + "/fig.svg.config.json").at("config").at("run").at(0) == dir + "/run");

  REQUIRE(run_aaren("bench train --lengths 6 --batch-size 2 --embed-dim 16 --layers 1 --min-rounds 1 --min-seconds 0 "
                    "--backbones aaren --plot " +
                    dir + "/plots")
              .exit_code == 0);
  check_record(dir + "/plots/bench-train.config.json", "bench train");
  std::set<std::string> drawn;
  for (const auto& entry : std::filesystem::directory_iterator(dir + "/plots"))
    if (entry.path().extension() == ".svg") drawn.insert(entry.path().filename().string());
  const auto declared = aaren::bench::train_plot_files();
  CHECK(drawn == std::set<std::string>(declared.begin(), declared.end()));  // what the refusal below looks for
  // Its own figures are drawn over; a figure of that name with no bench record beside it is a user's, refused.
  const std::string bench_train =
      "bench train --lengths 6 --batch-size 2 --embed-dim 16 --layers 1 --min-rounds 1 "
      "--min-seconds 0 --backbones aaren --plot ";
  REQUIRE(run_aaren(bench_train + dir + "/plots").exit_code == 0);
  std::filesystem::create_directories(dir + "/mine");
  std::ofstream(dir + "/mine/train_memory_vs_length.svg") << "<svg/>";
  check_refused_in_one_line(bench_train + dir + "/mine", dir + "/mine/train_memory_vs_length.svg exists with no " +
                                                             dir + "/mine/bench-train.config.json beside it");
  CHECK(aaren::testing::text_of(dir + "/mine/train_memory_vs_length.svg") == "<svg/>");
  CHECK_FALSE(std::filesystem::exists(dir + "/mine/train_time_vs_length.svg"));

  REQUIRE(run_aaren("export --checkpoint " + dir + "/run/checkpoint.pt --out " + dir + "/agent.policy").exit_code == 0);
  check_record(dir + "/agent.policy.config.json", "export");
  const auto exported = json_of(dir + "/agent.policy.config.json");
  CHECK(exported.at("checkpoint").at("sha256") == aaren::base::sha256_of_file(dir + "/run/checkpoint.pt"));
  CHECK(exported.at("trained_updates") == 2);
  std::ofstream(dir + "/other.policy.config.json") << R"({"command": "plot"})";
  check_refused_in_one_line("export --checkpoint " + dir + "/run/checkpoint.pt --out " + dir + "/other.policy",
                            "other.policy.config.json names 'plot'");
  CHECK_FALSE(std::filesystem::exists(dir + "/other.policy"));
  // One record per file: agent.lean beside agent.policy has its own, and agent.policy's is kept.
  CHECK(exported.at("output") == "agent.policy");
  REQUIRE(run_aaren("export --checkpoint " + dir + "/run/checkpoint.pt --out " + dir + "/agent.lean").exit_code == 0);
  CHECK(json_of(dir + "/agent.lean.config.json").at("output") == "agent.lean");
  CHECK(json_of(dir + "/agent.policy.config.json") == exported);

  REQUIRE(run_aaren("collect --env hopper --policy random --episodes 1 --out " + dir + "/c.hdf5").exit_code == 0);
  const auto metadata = aaren::data::read_dataset(dir + "/c.hdf5").metadata;
  REQUIRE(metadata.count("provenance"));
  const auto provenance = nlohmann::json::parse(metadata.at("provenance"));
  CHECK_FALSE(provenance.at("commit").get<std::string>().empty());
  CHECK(provenance.at("command").at(0) == "aaren collect");
}
