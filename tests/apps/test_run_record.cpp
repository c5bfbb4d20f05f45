// Runs a user can trust: a run folder is never overwritten or mixed, a run
// started from a resumed run's config.json starts afresh, a run resumed twice
// records what the uninterrupted run records (config, logs, evaluations) and
// remembers its history, every command plays an evaluation's episodes the
// same way, and the reproducible mode gives the committed bits.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "agents/checkpoint/checkpoint.h"
#include "agents/models/attention_cpu.h"
#include "base/file_hash.h"
#include "data/hdf5_io.h"
#include "tests/apps/run_aaren.h"
#include "tests/data/fixtures.h"
#include "tests/prerequisite.h"

using aaren::testing::read_json;
using aaren::testing::read_lines;
using aaren::testing::run_aaren;

namespace {
// Subnormals are flushed only on x86 (base/float_env.h): elsewhere no setting can differ.
constexpr bool kFlushesSubnormals =
#if defined(__x86_64__) || defined(__i386__)
    true;
#else
    false;
#endif

const std::string kRecordData = std::string(AAREN_SOURCE_DIR) + "/data/bundled/hopper-mixed-v0.hdf5";
// A small Aaren agent, no dropout, DT's constant rate after a short warm-up: a
// run's numbers depend on the update only, not on how long the run is.
const std::string kRecordRunBare =
    "train --dataset " + kRecordData +
    " --backbone aaren --embed-dim 16 --layers 1 --aaren-batch 2 --chunk-steps 50 --warmup 5"
    " --lr 3e-3 --dropout 0 --threads 1 --seed 7";
const std::string kRecordRun = kRecordRunBare + " --eval-episodes 2";

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

using aaren::testing::text_of;

// train_log.csv without its `seconds` column (wall time differs between runs).
std::vector<std::string> log_without_seconds(const std::string& path) {
  std::vector<std::string> rows;
  for (const auto& line : read_lines(path)) {
    std::vector<std::string> cells;
    std::istringstream row(line);
    for (std::string cell; std::getline(row, cell, ',');) cells.push_back(cell);
    REQUIRE(cells.size() == 5);  // update,loss,lr,seconds,steps
    rows.push_back(cells[0] + "," + cells[1] + "," + cells[2] + "," + cells[4]);
  }
  return rows;
}

std::vector<double> column(const std::string& csv, size_t index) {
  std::vector<double> values;
  const auto lines = read_lines(csv);
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> cells;
    std::istringstream row(lines[i]);
    for (std::string cell; std::getline(row, cell, ',');) cells.push_back(cell);
    values.push_back(std::stod(cells.at(index)));
  }
  return values;
}

}  // namespace

TEST_CASE("cli: --out holding a run is refused, the old run untouched, and --overwrite replaces it whole",
          "[cli][decision]") {
  const auto dir = aaren::testing::temp_dir("run_folder");
  const std::string out = dir + "/run";
  auto r = run_aaren(kRecordRun + " --updates 6 --checkpoint-every 2 --keep-last 1 --eval-every 6 --out " + out);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto before = files_in(out);
  const auto config_before = text_of(out + "/config.json"), log_before = text_of(out + "/train_log.csv");
  CHECK(std::find(before.begin(), before.end(), "checkpoint_4.pt") != before.end());

  // Refused in one line, naming the folder and the ways out; nothing touched.
  r = run_aaren(kRecordRun + " --updates 3 --out " + out);
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("--out " + out + " holds a run") != std::string::npos);
  CHECK(r.output.find("--overwrite") != std::string::npos);
  CHECK(files_in(out) == before);
  CHECK(text_of(out + "/config.json") == config_before);
  CHECK(text_of(out + "/train_log.csv") == log_before);
  // --overwrite with a bad input: the new run fails before it starts, the old one is put back.
  r = run_aaren(kRecordRun + " --updates 3 --env walker2d --overwrite --out " + out);
  CHECK(r.exit_code == 2);
  CHECK(files_in(out) == before);
  CHECK(text_of(out + "/config.json") == config_before);
  CHECK(files_in(dir) == std::vector<std::string>{"run"});
  // --overwrite: the new run alone, none of the old one's checkpoints or log rows.
  r = run_aaren(kRecordRun + " --updates 4 --checkpoint-every 2 --keep-last 1 --eval-every 4 --overwrite --out " + out);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto after = files_in(out);
  CHECK(std::find(after.begin(), after.end(), "checkpoint_4.pt") == after.end());
  CHECK(std::find(after.begin(), after.end(), "checkpoint_2.pt") != after.end());
  CHECK(read_lines(out + "/train_log.csv").size() == 1 + 4);
  CHECK(read_json(out + "/config.json").at("updates") == 4);
  CHECK(files_in(dir) == std::vector<std::string>{"run"});  // the old one is gone, not left aside

  // A resume never writes into another run's folder.
  r = run_aaren(kRecordRun + " --updates 2 --eval-every 2 --out " + dir + "/other");
  REQUIRE(r.exit_code == 0);
  r = run_aaren("train --resume " + dir + "/other --updates 4 --out " + out);
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("holds another run") != std::string::npos);
  CHECK(read_lines(out + "/train_log.csv").size() == 1 + 4);
  // --overwrite and --resume contradict each other.
  r = run_aaren("train --resume " + out + " --updates 8 --overwrite");
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("give one") != std::string::npos);
}

// A checkpoint copied into a run's folder from another run is refused on --resume: the
// resume would continue the folder's logs, delete its checkpoints and record the other
// run's settings in its config.json.
TEST_CASE("cli: --resume takes only the folder's own checkpoints: another run's, or a misnamed one, is refused",
          "[cli][decision]") {
  const auto dir = aaren::testing::temp_dir("foreign_checkpoint");
  const std::string run = dir + "/run", other = dir + "/other";
  REQUIRE(run_aaren(kRecordRun + " --updates 2 --checkpoint-every 1 --eval-every 2 --out " + run).exit_code == 0);
  const auto transformer = "train --dataset " + kRecordData +
                           " --backbone transformer --embed-dim 16 --layers 1 --warmup 1 --threads 1 --eval-episodes 1";
  REQUIRE(run_aaren(transformer + " --updates 4 --checkpoint-every 1 --eval-every 4 --out " + other).exit_code == 0);
  const auto before = files_in(run);
  const auto log_before = text_of(run + "/train_log.csv"), config_before = text_of(run + "/config.json");
  const auto refused = [&](const std::string& why) {
    const auto r = run_aaren("train --resume " + run + " --updates 6");
    INFO(r.output);
    CHECK(r.exit_code == 2);
    CHECK(r.output.find(why) != std::string::npos);
    CHECK(r.output.find("not this run's checkpoint") != std::string::npos);
    CHECK(text_of(run + "/train_log.csv") == log_before);
    CHECK(text_of(run + "/config.json") == config_before);
  };
  // Its name says update 5, it holds update 3.
  std::filesystem::copy_file(other + "/checkpoint_3.pt", run + "/checkpoint_5.pt");
  refused(run + "/checkpoint_5.pt: holds update 3, not the 5 of its name");
  std::filesystem::remove(run + "/checkpoint_5.pt");
  // Named for its update, trained as another run.
  std::filesystem::copy_file(other + "/checkpoint_3.pt", run + "/checkpoint_3.pt");
  refused(run + "/checkpoint_3.pt: trained with backbone transformer, but " + run + "/config.json records aaren");
  std::filesystem::remove(run + "/checkpoint_3.pt");
  CHECK(files_in(run) == before);
  // A record of what older builds wrote before resolving the env and targets from the data
  // ("env": "", "target_return": 0) is the same run: resumed.
  auto record = read_json(run + "/config.json");
  record["env"] = "", record["target_return"] = 0.0, record["score_references"] = nlohmann::json::array();
  std::ofstream(run + "/config.json") << record.dump(2);
  // A file whose number is no update count (20 digits) is not taken for a checkpoint.
  std::filesystem::copy_file(run + "/checkpoint_1.pt", run + "/checkpoint_99999999999999999999.pt");
  const auto r = run_aaren("train --resume " + run + " --updates 3 --eval-every 3");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(read_lines(run + "/train_log.csv").size() == 1 + 3);
}

TEST_CASE("cli: --config of a resumed run's config.json starts a new run afresh", "[cli][decision]") {
  const auto dir = aaren::testing::temp_dir("config_afresh");
  auto r = run_aaren(kRecordRun + " --updates 4 --eval-every 4 --out " + dir + "/first");
  REQUIRE(r.exit_code == 0);
  r = run_aaren("train --resume " + dir + "/first --updates 6");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto resumed = read_json(dir + "/first/config.json");
  CHECK_FALSE(resumed.contains("resume"));
  CHECK(resumed.at("provenance").at("resumes").size() == 1);
  r = run_aaren("train --config " + dir + "/first/config.json --seed 2 --out " + dir + "/again");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto rows = read_lines(dir + "/again/train_log.csv");
  REQUIRE(rows.size() == 1 + 6);  // updates 1 to 6: a new run of the resumed run's length
  CHECK(rows.at(1).rfind("1,", 0) == 0);
  const auto again = read_json(dir + "/again/config.json");
  CHECK(again.at("seed") == 2);
  CHECK(again.at("provenance").at("resumes").empty());
}

TEST_CASE("cli: a run resumed twice records the uninterrupted run's config, logs and evaluations, and its history",
          "[cli][decision]") {
  const auto dir = aaren::testing::temp_dir("resumed_twice");
  const std::string flags = kRecordRun + " --eval-every 10 --checkpoint-every 0";
  auto r = run_aaren(flags + " --updates 30 --out " + dir + "/straight");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::string out = dir + "/staged";
  r = run_aaren(flags + " --updates 10 --out " + out);
  REQUIRE(r.exit_code == 0);
  const auto first = read_json(out + "/config.json").at("provenance");
  for (const int updates : {20, 30}) {
    r = run_aaren("train --resume " + out + " --updates " + std::to_string(updates));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
  }
  // The same record as the run never stopped: every log row (but wall time), every evaluation, the config.
  CHECK(log_without_seconds(out + "/train_log.csv") == log_without_seconds(dir + "/straight/train_log.csv"));
  CHECK(read_lines(out + "/eval.csv") == read_lines(dir + "/straight/eval.csv"));
  auto staged = read_json(out + "/config.json"), straight = read_json(dir + "/straight/config.json");
  const auto history = staged.at("provenance");
  for (auto* j : {&staged, &straight}) j->erase("provenance"), j->erase("out");
  CHECK(staged == straight);
  // One row per update, in order; the clock continues across the resumes.
  const auto updates = column(out + "/train_log.csv", 0), seconds = column(out + "/train_log.csv", 3);
  REQUIRE(updates.size() == 30);
  for (size_t i = 0; i < updates.size(); ++i) CHECK(updates[i] == static_cast<double>(i + 1));
  for (size_t i = 1; i < seconds.size(); ++i) CHECK(seconds[i] >= seconds[i - 1]);
  // The first command and start kept; each resume appended with its command and the checkpoint it continued.
  CHECK(history.at("command") == first.at("command"));
  CHECK(history.at("started_utc") == first.at("started_utc"));
  REQUIRE(history.at("resumes").size() == 2);
  CHECK(history.at("resumes").at(0).at("at_update") == 10);
  CHECK(history.at("resumes").at(1).at("at_update") == 20);
  CHECK(history.at("resumes").at(1).at("from_checkpoint") == out + "/checkpoint.pt");
  CHECK(history.at("resumes").at(1).at("command").at(1) == "--resume");
  // The dataset by size and content: sha256sum's digest.
  const auto sum = aaren::testing::run_shell("sha256sum " + kRecordData);
  REQUIRE(sum.exit_code == 0);
  CHECK(history.at("dataset").at("sha256") == sum.output.substr(0, 64));
  CHECK(history.at("dataset").at("bytes") == static_cast<int64_t>(std::filesystem::file_size(kRecordData)));
  // And by its arrays, whatever wrote the file: the checksum docs/datasets/ tables hold.
  CHECK(history.at("dataset").at("arrays_sha256") == aaren::data::d4rl_arrays_sha256(kRecordData));
}

TEST_CASE("cli: train's evaluation, rollout with 1 and 16 envs, and compare play the same episodes",
          "[cli][decision]") {
  const auto dir = aaren::testing::temp_dir("eval_seeds");
  auto r = run_aaren(kRecordRunBare + " --updates 4 --eval-every 4 --eval-episodes 16 --out " + dir + "/run");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  // eval.csv's last row: target 1800 (the second), with the seed its episodes started from.
  const auto rows = read_lines(dir + "/run/eval.csv");
  CHECK(rows.front() == "update,target,return_mean,return_std,score_mean,score_std,seed,episodes");
  const auto seeds = column(dir + "/run/eval.csv", 6), means = column(dir + "/run/eval.csv", 2);
  const auto seed = std::to_string(static_cast<uint64_t>(seeds.back()));
  const std::string rollout =
      "rollout --checkpoint " + dir + "/run/checkpoint.pt --target-return 1800 --episodes 16 --json --seed " + seed;
  const auto one = run_aaren(rollout + " --num-envs 1", false), sixteen = run_aaren(rollout + " --num-envs 16", false);
  REQUIRE(one.exit_code == 0);
  REQUIRE(sixteen.exit_code == 0);
  const auto returns = nlohmann::json::parse(one.output).at("returns").get<std::vector<double>>();
  CHECK(returns == nlohmann::json::parse(sixteen.output).at("returns").get<std::vector<double>>());  // bit for bit
  double sum = 0;
  for (double x : returns) sum += x;
  std::ostringstream mean;
  mean << sum / returns.size();  // as eval.csv prints it
  std::ostringstream logged;
  logged << means.back();
  CHECK(mean.str() == logged.str());
  // compare: the same mean (one env at a time).
  r = run_aaren(
      "compare --checkpoint " + dir + "/run/checkpoint.pt --target-return 1800 --episodes 16 --json --seed " + seed,
      false);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto compared = nlohmann::json::parse(r.output).at("rows").at(0);
  CHECK(compared.at("return_mean").get<double>() == Approx(sum / returns.size()).epsilon(1e-12));
  // More episodes than envs: a count that does not divide 16 steps the next one that does (3 -> 4,
  // 12 -> 16), so that no two envs' episodes share a row of the batch; the same bits as one env.
  const std::string longer =
      "rollout --checkpoint " + dir + "/run/checkpoint.pt --target-return 1800 --episodes 40 --json --seed " + seed;
  const auto single = nlohmann::json::parse(run_aaren(longer + " --num-envs 1", false).output);
  for (const auto& [asked, stepped] : std::vector<std::pair<int, int>>{{3, 4}, {12, 16}, {32, 16}}) {
    INFO(asked);
    const auto many = nlohmann::json::parse(run_aaren(longer + " --num-envs " + std::to_string(asked), false).output);
    CHECK(many.at("config").at("num_envs") == stepped);
    CHECK(many.at("returns") == single.at("returns"));
  }
}

namespace {
// Trains `run` for 20 updates with an evaluation in reproducible mode into `out`,
// checks what its config.json records, and returns the SHA-256 of every weight's
// bytes (in name order) and the evaluation's rows.
std::string reproducible_run_digest(const std::string& run, const std::string& out) {
  const auto r = aaren::testing::run_shell("env -u OPENBLAS_CORETYPE -u AAREN_KEEP_SUBNORMALS AAREN_REPRODUCIBLE=1 " +
                                           std::string(AAREN_BINARY) + " " + run +
                                           " --updates 20 --eval-every 20 --precision fp32 --out " + out + " 2>&1");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto machine = read_json(out + "/config.json").at("provenance").at("machine");
  CHECK(machine.at("blas_kernels") == "Haswell");
  CHECK(machine.at("aten_cpu_capability") == "AVX2");
  CHECK(machine.at("reproducible") == true);
  CHECK(machine.at("subnormals_flushed") == true);  // base/float_env.h: the digest holds with FTZ and DAZ set
  CHECK(machine.at("fused_cpu_attention") == aaren::fused_attention_built());  // which attention a Transformer runs
  const auto agent = aaren::load_checkpoint(out + "/checkpoint.pt");
  std::ofstream bytes(out + "/digest.bin", std::ios::binary);
  std::map<std::string, torch::Tensor> weights;
  for (const auto& p : agent.model->named_parameters()) weights[p.key()] = p.value().contiguous();
  for (const auto& [name, w] : weights)
    bytes.write(static_cast<const char*>(w.data_ptr()), static_cast<std::streamsize>(w.numel() * w.element_size()));
  for (const auto& line : read_lines(out + "/eval.csv")) bytes << line << "\n";
  bytes.close();
  const auto digest = aaren::base::sha256_of_file(out + "/digest.bin");
  UNSCOPED_INFO("digest of " << out << " here: " << digest << " (tests/data/reproducible-digest.txt: how it was made)");
  return digest;
}
}  // namespace

TEST_CASE("reproducible mode: pinned kernels, and 20 updates with an evaluation give the committed digest",
          "[cli][decision]") {
  aaren::testing::skip_unless_reproducible_mode();
  const auto dir = aaren::testing::temp_dir("reproducible");
  // A conflicting kernel choice is refused in one line.
  auto r = aaren::testing::run_shell("AAREN_REPRODUCIBLE=1 OPENBLAS_CORETYPE=Prescott " + std::string(AAREN_BINARY) +
                                     " envs 2>&1");
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("OPENBLAS_CORETYPE=Prescott") != std::string::npos);
  // bf16 on the CPU needs kernels the pinned set lacks: refused in one line, before any work.
  r = aaren::testing::run_shell("env -u OPENBLAS_CORETYPE AAREN_REPRODUCIBLE=1 " + std::string(AAREN_BINARY) + " " +
                                kRecordRun + " --updates 20 --precision bf16 --out " + dir + "/bf16 2>&1");
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("--precision bf16 on the CPU: AAREN_REPRODUCIBLE=1 pins oneDNN to AVX2") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir + "/bf16"));
  std::vector<std::string> expected;  // the digests: the file's lines before its comment
  for (const auto& line : read_lines(std::string(AAREN_SOURCE_DIR) + "/tests/data/reproducible-digest.txt"))
    if (!line.empty() && line[0] != '#') expected.push_back(line);
  REQUIRE(expected.size() == 2);
  CHECK(reproducible_run_digest(kRecordRun, dir + "/aaren") == expected[0]);
  // The Transformer's digest holds for the fused attention (a build with CBLAS), whose own loops
  // once rounded by the host's vector width (RELIABILITY.md); LibTorch's attention rounds otherwise.
  if (!aaren::fused_attention_built()) return;
  const auto at = kRecordRun.find("--backbone aaren");
  REQUIRE(at != std::string::npos);
  const auto transformer_run = std::string(kRecordRun).replace(at, 16, "--backbone transformer");
  CHECK(reproducible_run_digest(transformer_run, dir + "/transformer") == expected[1]);
}

// The matched datasets are rebuilt from committed policies and action records
// (scripts/make-matched-datasets.sh, docs/datasets/matched/checksums.txt): the
// env loop that collect and SAC's evaluation step through must keep their bits.
// A random policy with noise and a cut last episode, a sampled SAC policy, a
// deterministic one with noise over whole episodes, and a SAC run's sampled
// evaluations, against the digests of the build before the loop was shared;
// the sampled one again at 2 threads.
TEST_CASE("reproducible mode: collect and SAC's evaluation give the committed bits", "[cli][collect]") {
  aaren::testing::skip_unless_reproducible_mode();
  const auto dir = aaren::testing::temp_dir("collect_digest");
  const std::string src = AAREN_SOURCE_DIR,
                    bin = "env -u OPENBLAS_CORETYPE AAREN_REPRODUCIBLE=1 " + std::string(AAREN_BINARY);
  const std::vector<std::pair<std::string, std::string>> runs = {
      {"random", "collect --env hopper --policy random --noise 0.3 --transitions 3000 --seed 5"},
      {"sac-sampled", "collect --env hopper --policy " + src +
                          "/data/matched/sac-hopper-seed1-medium.pt --transitions 2000 --seed 11"},
      {"sac-deterministic-noise", "collect --env walker2d --policy " + src +
                                      "/data/matched/sac-walker2d-seed1-medium.pt --deterministic --noise 0.1 "
                                      "--episodes 2 --seed 4"},
  };
  std::map<std::string, std::vector<std::string>> expected;
  for (const auto& line : read_lines(src + "/tests/data/collect-digests.txt")) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    expected[line.substr(space + 1)].push_back(line.substr(0, space));
  }
  for (const auto& [name, command] : runs) {
    const auto out = dir + "/" + name + ".hdf5";
    const auto r = aaren::testing::run_shell(bin + " " + command + " --out " + out + " 2>&1");
    INFO(name << ": " << r.output);
    REQUIRE(r.exit_code == 0);
    REQUIRE(expected[name].size() == 1);
    CHECK(aaren::data::d4rl_arrays_sha256(out) == expected[name].front());
  }
  // Threads change no bit: collect's SAC actor acts on one observation a step.
  const auto two =
      aaren::testing::run_shell(bin + " " + runs[1].second + " --threads 2 --out " + dir + "/two.hdf5 2>&1");
  INFO(two.output);
  REQUIRE(two.exit_code == 0);
  CHECK(aaren::data::d4rl_arrays_sha256(dir + "/two.hdf5") == expected["sac-sampled"].front());
  const auto r = aaren::testing::run_shell(bin +
                                           " sac --env hopper --env-steps 1200 --learning-starts 400 --eval-every 400 "
                                           "--eval-episodes 2 --eval-sampled --seed 4 --out " +
                                           dir + "/sac 2>&1");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  auto rows = read_lines(dir + "/sac/eval.csv");
  REQUIRE(!rows.empty());
  rows.erase(rows.begin());  // the header
  CHECK(rows == expected["sac-eval"]);
}

// base/float_env.h: the aaren program flushes subnormals unless AAREN_KEEP_SUBNORMALS=1, and a run
// records which; a resume under the other setting continues (not bit for bit) and says so once.
TEST_CASE("cli: a resume under another subnormal setting warns once, and each start records its setting",
          "[cli][decision]") {
  AAREN_REQUIRE_PREREQUISITE(kFlushesSubnormals, "an x86 CPU (FTZ and DAZ are MXCSR bits)");
  const auto dir = aaren::testing::temp_dir("subnormals");
  const std::string keep = "AAREN_KEEP_SUBNORMALS=1 " + std::string(AAREN_BINARY) + " ";
  auto r = aaren::testing::run_shell(keep + kRecordRun + " --updates 4 --checkpoint-every 2 --eval-every 4 --out " +
                                     dir + "/run 2>&1");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(read_json(dir + "/run/config.json").at("provenance").at("machine").at("subnormals_flushed") == false);
  const std::string resume = "train --resume " + dir + "/run/checkpoint_2.pt --updates 4 --out ";
  r = aaren::testing::run_shell(keep + resume + dir + "/kept 2>&1");  // the same setting: no word
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("subnormal floats") == std::string::npos);
  r = aaren::testing::run_shell("env -u AAREN_KEEP_SUBNORMALS " + std::string(AAREN_BINARY) + " " + resume + dir +
                                "/flushed 2>&1");  // the default: flushed
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::string warning = "ran with subnormal floats kept, this process flushes them";
  CHECK(r.output.find(warning) != std::string::npos);
  CHECK(r.output.find(warning) == r.output.rfind(warning));
  CHECK(r.output.find("set AAREN_KEEP_SUBNORMALS=1 to continue it exactly") != std::string::npos);
  const auto history = read_json(dir + "/flushed/config.json").at("provenance");
  CHECK(history.at("machine").at("subnormals_flushed") == false);  // the start's
  CHECK(history.at("resumes").back().at("machine").at("subnormals_flushed") == true);
  // Continued again under the default: the stretch that wrote its checkpoint flushed, so no word.
  r = aaren::testing::run_shell("env -u AAREN_KEEP_SUBNORMALS " + std::string(AAREN_BINARY) + " train --resume " + dir +
                                "/flushed/checkpoint.pt --updates 6 --out " + dir + "/again 2>&1");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("subnormal floats") == std::string::npos);
}

// SAC's record too (base/run_history.h): a run's config.json says what ran it, each resume appends
// itself at the step its state was saved, and one under another subnormal setting says so once.
TEST_CASE("cli: a SAC run records what ran it, each resume appends itself and warns once on another setting",
          "[cli][sac]") {
  AAREN_REQUIRE_PREREQUISITE(kFlushesSubnormals, "an x86 CPU (FTZ and DAZ are MXCSR bits)");
  const auto dir = aaren::testing::temp_dir("sac_record"), run = dir + "/run";
  const std::string sac =
      "sac --env hopper --learning-starts 20 --batch-size 8 --hidden-dim 8 --buffer-size 50 "
      "--eval-every 0 --threads 1 --state-every 30 ";
  const std::string keep = "AAREN_KEEP_SUBNORMALS=1 " + std::string(AAREN_BINARY) + " ";
  const std::string flush = "env -u AAREN_KEEP_SUBNORMALS " + std::string(AAREN_BINARY) + " ";
  auto r = aaren::testing::run_shell(keep + sac + "--env-steps 100 --out " + run + " 2>&1");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  auto history = read_json(run + "/config.json").at("provenance");
  CHECK(history.at("machine").at("subnormals_flushed") == false);
  CHECK(history.at("commit").is_string());
  CHECK(history.at("resumes").empty());
  r = aaren::testing::run_shell(flush + sac + "--env-steps 160 --resume " + run + " 2>&1");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::string warning = "ran with subnormal floats kept, this process flushes them";
  CHECK(r.output.find(warning) != std::string::npos);
  CHECK(r.output.find(warning) == r.output.rfind(warning));
  history = read_json(run + "/config.json").at("provenance");
  CHECK(history.at("machine").at("subnormals_flushed") == false);  // the start's, kept
  REQUIRE(history.at("resumes").size() == 1);
  const auto first = history.at("resumes").at(0);
  CHECK(first.at("machine").at("subnormals_flushed") == true);
  CHECK(first.at("at_step").get<int64_t>() > 30);  // the state saved last, before step 100
  CHECK(first.at("at_step").get<int64_t>() < 100);
  // Continued again under the default: the stretch that saved its state flushed, so no word.
  r = aaren::testing::run_shell(flush + sac + "--env-steps 220 --resume " + run + " 2>&1");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("subnormal floats") == std::string::npos);
  history = read_json(run + "/config.json").at("provenance");
  REQUIRE(history.at("resumes").size() == 2);
  CHECK(history.at("resumes").at(1).at("at_step").get<int64_t>() > first.at("at_step").get<int64_t>());
}

// The record says how many threads computed the run: the --threads it set, not the count
// before it was set (the record is made before training starts).
TEST_CASE("cli: a run's provenance records the threads it ran with (train and sac)", "[cli]") {
  const auto dir = aaren::testing::temp_dir("threads_record");
  std::string train = kRecordRun;
  train.replace(train.find(" --threads 1"), 12, " --threads 2");
  auto r = run_aaren(train + " --updates 2 --eval-every 0 --out " + dir + "/train");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(read_json(dir + "/train/config.json").at("provenance").at("machine").at("torch_threads") == 2);
  r = run_aaren(
      "sac --env hopper --env-steps 30 --learning-starts 20 --batch-size 8 --hidden-dim 8 --eval-every 0 "
      "--threads 2 --out " +
      dir + "/sac");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(read_json(dir + "/sac/config.json").at("provenance").at("machine").at("torch_threads") == 2);
}
