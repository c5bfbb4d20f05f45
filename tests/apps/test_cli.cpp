// End-to-end tests of the `aaren` program itself.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/policy_bench.h"
#include "tests/apps/run_aaren.h"
#include "tests/data/fixtures.h"

using aaren::testing::check_refused_in_one_line;
using aaren::testing::run_aaren;
using aaren::testing::text_of;

namespace {
aaren::testing::RunResult run_aaren_stdout(const std::string& args) { return run_aaren(args, false); }
}  // namespace

TEST_CASE("cli: help lists the commands", "[cli]") {
  auto r = run_aaren("--help");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("bench"));
  r = run_aaren("bench --help");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("scan"));
  CHECK_THAT(r.output, Catch::Contains("conditioning  how"));  // a long name keeps a gap before its summary
  r = run_aaren("bench scan --help");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("--lengths"));
}

TEST_CASE("cli: bad commands and flags give one-line errors and exit 2", "[cli]") {
  check_refused_in_one_line("frobnicate", "unknown command 'frobnicate'");
  check_refused_in_one_line("rollot --env hopper", "unknown command 'rollot' (did you mean 'rollout'?)");
  check_refused_in_one_line("bench scan --no-such-flag", "no-such-flag");
  check_refused_in_one_line("bench scan --batch-size abc", "batch");
  check_refused_in_one_line("bench scan --heads 3", "--heads must divide");
}

TEST_CASE("cli: bench scan runs and reports errors against the brute force", "[cli]") {
  const auto dir = aaren::testing::temp_dir("cli_bench");
  const std::string csv = dir + "/bench_scan.csv";
  auto r = run_aaren_stdout(
      "bench scan --lengths 1 50 --heads 2 --batch-size 2 --embed-dim 16 --min-rounds 1 "
      "--min-seconds 0 --json --csv " +
      csv);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.output);
  REQUIRE(j["rows"].size() == 2);
  for (const auto& row : j["rows"]) {
    CHECK(row["fast_max_err"].get<double>() < 1e-5);
    CHECK(row["ref_max_err"].get<double>() < 1e-5);
    CHECK(row["attn_max_err"].get<double>() < 1e-5);
    CHECK(row["fast_fwdbwd_ms"].get<double>() > 0.0);
  }
  CHECK(j["config"]["batch_size"] == 2);  // the key is the flag's name
  std::ifstream f(csv);
  std::string header;
  std::getline(f, header);
  CHECK_THAT(header, Catch::StartsWith("heads,tokens,fast_fwd_ms"));
  std::ifstream cfg(dir + "/bench_scan.config.json");
  CHECK(cfg.good());
}

TEST_CASE("cli: bench policy measures every variant and writes JSON, CSV and plots", "[cli][bench]") {
  const auto dir = aaren::testing::temp_dir("cli_bench_policy");
  auto r = run_aaren_stdout(
      "bench policy --embed-dim 32 --layers 2 --context 5 --steps 30 --batch-size 1 2 --repeats 2 "
      "--sweep-tokens 100 --tokens interleaved fused --json --csv " +
      dir + "/policy.csv --plot " + dir + "/plots");
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.output);
  // 7 variants (aaren-recurrent, aaren-lean, transformer-window, transformer-kvcache, lstm-recurrent,
  // lstm-lean, lstm-window) x 2 layouts x 2 batch sizes
  REQUIRE(j["variants"].size() == 28);
  for (const auto& v : j["variants"]) {
    INFO(v.dump());
    CHECK(v["median_us_per_step"].get<double>() > 0.0);
    CHECK(v["p99_us_per_step"].get<double>() >= v["median_us_per_step"].get<double>());  // the keys not swapped
    const auto first = v["state_bytes_first"].get<int64_t>(), last = v["state_bytes_last"].get<int64_t>();
    const auto name = v["variant"].get<std::string>();
    if (name.rfind("aaren", 0) == 0 || name.rfind("lstm-recurrent", 0) == 0 || name.rfind("lstm-lean", 0) == 0)
      CHECK(first == last);  // constant memory
    if (name.rfind("transformer-kvcache", 0) == 0 && name.find("fused") == std::string::npos)
      CHECK(last > first);  // grows with the tokens (30 fused tokens stay inside the first 64-token block)
  }
  CHECK(j["sweep"].size() == 14 * 2);  // tokens 30 and 99 (interleaved) or 100 (fused) for each
  for (const auto* f :
       {"/policy.csv", "/policy_steps.csv", "/policy_sweep.csv", "/policy.config.json", "/plots/memory_vs_timestep.svg",
        "/plots/cumulative_time_vs_timestep.svg", "/plots/memory_vs_tokens.svg", "/plots/latency_vs_tokens.svg"})
    CHECK(std::ifstream(dir + f).good());
  std::set<std::string> drawn;  // what --plot's refusal of a user's figures looks for
  for (const auto& entry : std::filesystem::directory_iterator(dir + "/plots"))
    if (entry.path().extension() == ".svg") drawn.insert(entry.path().filename().string());
  const auto declared = aaren::bench::policy_plot_files();
  CHECK(drawn == std::set<std::string>(declared.begin(), declared.end()));

  // Without --sweep-tokens the sweep follows --steps (10 x): a short run sweeps briefly.
  r = run_aaren_stdout("bench policy --steps 4 --batch-size 1 --repeats 1 --variants aaren-lean --tokens fused --json");
  REQUIRE(r.exit_code == 0);
  CHECK(nlohmann::json::parse(r.output).at("config").at("sweep_tokens") == 40);
  r = run_aaren("bench policy --variants aaren-recurrent nope");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("--variants") && Catch::Contains("nope"));
  r = run_aaren("bench policy --env nowhere");
  CHECK(r.exit_code == 2);
  r = run_aaren("bench policy --checkpoint " + dir + "/missing.pt");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("missing.pt"));
}

TEST_CASE("cli: bench train times every backbone against length", "[cli][bench]") {
  const auto dir = aaren::testing::temp_dir("cli_bench_train");
  auto r = run_aaren_stdout(
      "bench train --lengths 6 30 --batch-size 2 --embed-dim 16 --layers 1 --min-rounds 1 "
      "--min-seconds 0 --json --plot " +
      dir);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.output);
  REQUIRE(j["rows"].size() == 2);
  CHECK(j["rows"][1]["tokens"] == 30);
  CHECK(j["rows"][1]["aaren_ms"].get<double>() > 0.0);
  CHECK(j["rows"][1]["transformer_ms"].get<double>() > 0.0);
  CHECK(j["rows"][1]["lstm_ms"].get<double>() > 0.0);
  CHECK(j["rows"][1]["lstm_over_aaren"].get<double>() ==
        Approx(j["rows"][1]["lstm_ms"].get<double>() / j["rows"][1]["aaren_ms"].get<double>()));
  CHECK(std::ifstream(dir + "/train_time_vs_length.svg").good());
  r = run_aaren_stdout(
      "bench train --lengths 6 --batch-size 2 --embed-dim 16 --layers 1 --min-rounds 1 "
      "--min-seconds 0 --json --backbones lstm aaren");
  REQUIRE(r.exit_code == 0);
  CHECK(nlohmann::json::parse(r.output)["rows"][0].contains("aaren_over_lstm"));
  r = run_aaren("bench train --backbones gru");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("--backbones") && Catch::Contains("gru"));
  r = run_aaren("bench train --lengths 61");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("multiples of 3"));
}

// Mistakes that used to be accepted, or found only after the long work:
// each is one line on stderr and exit 2 before anything runs, and leaves no
// output behind.
TEST_CASE("cli: abusive flag values are refused before any work, in one line", "[cli]") {
  const auto dir = aaren::testing::temp_dir("cli_abuse");
  const std::string data = AAREN_SOURCE_DIR "/data/bundled/hopper-mixed-v0.hdf5";
  const std::string train = "train --dataset " + data + " --backbone aaren --updates 2 --out " + dir + "/run ";
  std::ofstream(dir + "/type.json") << R"({"updates": "three"})";
  std::ofstream(dir + "/name.json") << R"({"backbone": "lstmm"})";
  std::ofstream(dir + "/float.json") << R"({"updates": 3.5})";
  std::ofstream(dir + "/negative.json") << R"({"seed": -1})";
  std::ofstream(dir + "/huge.json") << R"({"threads": 99999999999})";
  std::ofstream(dir + "/null.json") << R"({"lr": null})";  // read as infinity: what --lr inf is refused as
  std::ofstream(dir + "/count.json") << R"({"updates": 20000000000})";
  std::ofstream(dir + "/seeds.json") << R"({"seeds": [1, -1], "config": {}})";
  std::filesystem::create_directories(dir + "/study/hopper/aaren-seed1");
  std::ofstream(dir + "/study/hopper/aaren-seed1/eval.csv") << "update,score\n1,2\n";
  const std::string seed_run = dir + "/seeds/hopper/aaren-seed99999999999999999999",
                    typed_run = dir + "/types/hopper/aaren-seed1";
  for (const auto& run : {seed_run, typed_run}) {
    std::filesystem::create_directories(run);
    std::ofstream(run + "/eval.csv") << "update,target,return_mean,return_std,score_mean,score_std,seed,episodes\n"
                                        "10,3600,1,0,1,0,1,10\n";
    std::ofstream(run + "/config.json") << R"({"updates": "three"})";
  }
  const std::vector<std::pair<std::string, std::string>> cases{
      {train + "--seed -1", "--seed: expected a non-negative integer"},
      {train + "--batch-size 0", "--batch-size must be > 0, got 0"},  // the one flag, not a group of them
      {train + "--eval-every -5", "--eval-every must be >= 0, got -5"},
      {train + "--config " + dir + "/type.json", "'updates' has the wrong type (\"three\"): expected an integer"},
      {train + "--config " + dir + "/float.json", "'updates' has the wrong type (3.5): expected an integer"},
      {train + "--config " + dir + "/negative.json", "'seed' has the wrong type (-1): expected a non-negative integer"},
      {train + "--config " + dir + "/huge.json", "'threads' is out of range (99999999999): expected"},
      {train + "--config " + dir + "/null.json", "null.json: 'lr' is null: expected a finite number"},
      {train + "--config " + dir + "/count.json", "count.json: 'updates': --updates 20000000000: at most"},
      {train + "--config " + dir + "/seeds.json",
       "'seeds' must be a list of seeds ('seeds[1]' has the wrong type (-1): expected a non-negative integer)"},
      {train + "--config " + dir + "/name.json", "'backbone': must be aaren, transformer or lstm, got 'lstmm'"},
      {"versus " + dir + "/study", "aaren-seed1/eval.csv: not an eval.csv"},  // the user's file: exit 2
      {"versus " + dir + "/seeds", "its seed: expected a non-negative integer"},
      {"versus " + dir + "/types", "aaren-seed1/config.json: 'updates' is \"three\": expected a whole number"},
      {train + "--threads 33000", "--threads 33000: at most"},
      {train + "--threads 0", "--threads 0: expected at least 1"},
      {train + "--target-return nan", "--target-return nan: expected a finite number"},
      {train + "--target-return inf", "--target-return inf: expected a finite number"},
      {train + "--lr nan", "--lr nan: expected a finite number"},
      {train + "--env walker2d", "--env Walker2d-v3: observations/actions 17/6, but"},
      {"train --backbone aaren --updates 2 --out " + dir + "/run --dataset " + dir, "is a directory"},
      {"rollout --env hopper --policy random --num-envs -1", "--num-envs -1: expected a non-negative count"},
      {"rollout --env hopper --policy random --episodes 99999999999999", "--episodes 99999999999999: at most"},
      {"rollout --env hopper --policy random --threads 0", "--threads 0: expected at least 1"},
      {"rollout --env hopper --policy random --env-threads 0", "--env-threads 0: expected at least 1"},
      {"bench env --env-threads 1 100000", "--env-threads 100000: at most"},  // each item of a list
      {"sac --env hopper --env-steps -5 --out " + dir + "/sac", "--env-steps -5: expected a non-negative count"},
      {"bench scan --csv /proc/no/such/dir/x.csv", "--csv /proc/no/such/dir/x.csv: cannot"},
      {"bench scan --csv " + dir + "/data.hdf5", "data.hdf5: expected a .csv file"},  // not written over
      {"versus " + dir + " --out " + dir + "/table.txt", "table.txt: expected a .csv file"},
      {"data concat " + data + " " + dir + "/b.hdf5 --out " + data, "is also an input"},
      // A user's file that does not fit is bad input (exit 2), in bench data and collect too (they exited 1).
      {"bench data --seconds 0.1 --dataset " + dir + "/type.json", "type.json"},
      {"collect --env walker2d --actions " + data + " --out " + dir + "/w.hdf5", "actions of width 3, but"},
      {"collect --env hopper --actions " + data + " --transitions 99999 --out " + dir + "/w.hdf5",
       "--transitions 99999: "},
  };
  for (const auto& [args, message] : cases) check_refused_in_one_line(args, message);
  CHECK(!std::filesystem::exists(dir + "/run"));  // no folder left by a refused run
}

// The same file is refused with the same exit code by every command that takes it, before any output.
TEST_CASE("cli: a bad --policy file, --model-xml or pair of files to concat is bad input: exit 2, nothing left",
          "[cli]") {
  const auto dir = aaren::testing::temp_dir("cli_bad_inputs");
  std::ofstream(dir + "/junk.pt") << "not a policy";
  std::ofstream(dir + "/broken.xml") << "<mujoco><worldbody><body></worldbody></mujoco>";
  const std::string hopper = AAREN_SOURCE_DIR "/data/bundled/hopper-mixed-v0.hdf5";
  REQUIRE(aaren::testing::run_aaren_stderr("collect --env walker2d --policy random --transitions 30 --out " + dir +
                                           "/walker.hdf5")
              .exit_code == 0);
  const std::vector<std::tuple<std::string, std::string, std::string>> cases{
      {"collect --env hopper --transitions 10 --policy " + dir + "/junk.pt --out " + dir + "/c.hdf5", "junk.pt",
       "/c.hdf5"},
      {"sac --env hopper --env-steps 10 --model-xml " + dir + "/broken.xml --out " + dir + "/sac", "broken.xml",
       "/sac"},
      {"data concat " + hopper + " " + dir + "/walker.hdf5 --out " + dir + "/both.hdf5", "dims differ", "/both.hdf5"},
      // The folders made for an output (checked writable before the work) go when the command fails.
      {"bench conditioning --checkpoint " + dir + "/none.pt --dataset " + dir + "/none.hdf5 --csv " + dir +
           "/new/deeper/c.csv",
       "none.hdf5: no such file", "/new"},
  };
  for (const auto& [args, message, output] : cases) {
    check_refused_in_one_line(args, message);
    CHECK_FALSE(std::filesystem::exists(dir + output));
  }
  CHECK(std::filesystem::exists(dir + "/junk.pt"));  // what was there before stays
}

TEST_CASE("cli: a dataset path that is a FIFO is refused at once", "[cli]") {
  const auto dir = aaren::testing::temp_dir("cli_fifo");
  REQUIRE(mkfifo((dir + "/pipe.hdf5").c_str(), 0600) == 0);
  for (const std::string cmd : {"data inspect ", "data validate "}) {
    const auto r = aaren::testing::run_aaren_stderr(cmd + dir + "/pipe.hdf5");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains("not a regular file"));
  }
}

TEST_CASE("cli: an MJCF with a non-finite number anywhere, a negative timestep, or a parse error, is one line",
          "[cli]") {
  const auto dir = aaren::testing::temp_dir("cli_mjcf");
  std::ifstream in(AAREN_SOURCE_DIR "/envs/models/hopper.xml");
  const std::string xml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto at = xml.find("timestep=\"");
  REQUIRE(at != std::string::npos);
  const auto end = xml.find('"', at + 10);
  for (const std::string value : {"nan", "-1", "0"}) {
    const auto path = dir + "/hopper_" + value + ".xml";
    std::ofstream(path) << xml.substr(0, at + 10) << value << xml.substr(end);
    const auto r =
        aaren::testing::run_aaren_stderr("rollout --env hopper --policy random --episodes 1 --model-xml " + path);
    INFO(r.output);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains("timestep"));
    CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
  }
  // MuJoCo parses "nan" and "inf" in any real attribute and simulates with them: a NaN gravity gave
  // one-step episodes with NaN returns, a NaN friction plausible returns, both exit 0.
  const std::vector<std::tuple<std::string, std::string, std::string>> non_finite{
      {"timestep=\"0.002\"", "timestep=\"0.002\" gravity=\"0 nan -9.81\"", "option gravity[1] is nan"},
      {"size=\"0.06\" friction=\"2.0\"", "size=\"0.06\" friction=\"inf\"", "geom_friction[4][0] is inf"},
      {"armature=\"1\" damping=\"1\"", "armature=\"1\" damping=\"-nan\"", "dof_damping[3] is "}};
  for (const auto& [from, to, message] : non_finite) {
    REQUIRE(xml.find(from) != std::string::npos);
    auto edited = xml;
    edited.replace(edited.find(from), from.size(), to);
    std::ofstream(dir + "/edited.xml") << edited;
    for (const std::string& command :
         std::vector<std::string>{"rollout --env hopper --policy random --episodes 1",
                                  "collect --env hopper --policy random --transitions 10 --out " + dir + "/c.hdf5"}) {
      const auto r = aaren::testing::run_aaren_stderr(command + " --model-xml " + dir + "/edited.xml");
      INFO(r.output);
      CHECK(r.exit_code == 2);
      CHECK_THAT(r.output, Catch::Contains("model file " + dir + "/edited.xml: " + message));
      CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
      CHECK_FALSE(std::filesystem::exists(dir + "/c.hdf5"));
    }
  }
  std::ofstream(dir + "/broken.xml") << "<mujoco><worldbody><body></worldbody></mujoco>";
  const auto r = aaren::testing::run_aaren_stderr("rollout --env hopper --policy random --episodes 1 --model-xml " +
                                                  dir + "/broken.xml");
  CHECK(r.exit_code == 2);
  CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
}

namespace {
// No folder OUT.replaced.<pid> (a replaced run moved aside) is left in `dir`.
bool nothing_left_aside(const std::string& dir) {
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.path().filename().string().find(".replaced.") != std::string::npos) return false;
  return true;
}
}  // namespace

// What a user already has at an output is kept unless --overwrite: a file of
// collect and data concat, sac's --dump-replay, and a SAC run's folder (a new
// run there would mix its policies with the old run's). With --overwrite the
// new output replaces the old one whole.
TEST_CASE("cli: an output that exists is kept unless --overwrite (collect, data concat, sac)", "[cli]") {
  const auto dir = aaren::testing::temp_dir("cli_overwrite");
  const std::string hopper = AAREN_SOURCE_DIR "/data/bundled/hopper-mixed-v0.hdf5", mine = dir + "/mine.hdf5";
  std::ofstream(mine) << "the user's file";
  check_refused_in_one_line("collect --env hopper --policy random --episodes 1 --out " + mine,
                            "--out " + mine + ": exists (left as it is); replace it with --overwrite");
  check_refused_in_one_line("data concat " + hopper + " " + hopper + " --out " + mine, "replace it with --overwrite");
  CHECK(text_of(mine) == "the user's file");
  const std::string sac =
      "sac --env hopper --env-steps 40 --learning-starts 20 --batch-size 8 --hidden-dim 8 "
      "--eval-every 0 --threads 1 ";
  check_refused_in_one_line(sac + "--dump-replay " + mine + " --out " + dir + "/other", "--dump-replay " + mine);
  CHECK_FALSE(std::filesystem::exists(dir + "/other"));
  REQUIRE(
      aaren::testing::run_aaren_stderr("collect --env hopper --policy random --episodes 1 --overwrite --out " + mine)
          .exit_code == 0);
  CHECK(text_of(mine).rfind("\x89HDF", 0) == 0);  // replaced by the new dataset
  // A SAC run's folder.
  const std::string run = dir + "/run";
  REQUIRE(aaren::testing::run_aaren_stderr(sac + "--save-policy-steps 20 --out " + run).exit_code == 0);
  REQUIRE(std::filesystem::exists(run + "/policy_step20.pt"));
  const auto config = text_of(run + "/config.json");
  // (No resume.pt in it: the refusal offers --overwrite and another --out, not a --resume that would fail.)
  check_refused_in_one_line(sac + "--seed 2 --out " + run, "--out " + run + " holds a run (config.json");
  CHECK_THAT(aaren::testing::run_aaren_stderr(sac + "--seed 2 --out " + run).output,
             Catch::Contains("); replace it with --overwrite") && !Catch::Contains("--resume"));
  CHECK(text_of(run + "/config.json") == config);
  REQUIRE(std::filesystem::exists(run + "/policy_step20.pt"));
  check_refused_in_one_line("sac --resume " + run + " --overwrite", "--resume continues the run");
  // (--out with a trailing '/', as a shell completes it: the folder itself is moved aside.)
  const auto r = aaren::testing::run_aaren_stderr(sac + "--seed 2 --overwrite --out " + run + "/");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(nlohmann::json::parse(text_of(run + "/config.json")).at("seed") == 2);
  CHECK_FALSE(std::filesystem::exists(run + "/policy_step20.pt"));  // nothing of the old run mixed in
  CHECK(std::filesystem::exists(run + "/policy_final.pt"));
  CHECK(nothing_left_aside(dir));
}
