// `aaren train` as a long run lives: stopped by SIGTERM and resumed, started
// again from its config.json, checkpoints pruned, evaluation curves at both
// of DT's targets, provenance saved.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "agents/checkpoint/checkpoint.h"
#include "tests/apps/run_aaren.h"
#include "tests/data/fixtures.h"

extern char** environ;

using aaren::testing::read_json;
using aaren::testing::read_lines;
using aaren::testing::run_aaren;

namespace {

const std::string kTrainData = std::string(AAREN_SOURCE_DIR) + "/data/bundled/hopper-mixed-v0.hdf5";

double max_weight_difference(const std::string& a_path, const std::string& b_path) {
  const auto a = aaren::load_checkpoint(a_path), b = aaren::load_checkpoint(b_path);
  auto pa = a.model->named_parameters(), pb = b.model->named_parameters();
  double diff = 0;
  for (auto& p : pa) diff = std::max(diff, (p.value() - pb[p.key()]).abs().max().item<double>());
  return diff;
}

// Starts `aaren ARGS...` (output to `log`), returns its pid.
pid_t spawn_aaren(const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> words{"/bin/sh", "-c", "exec " + std::string(AAREN_BINARY)};
  for (const auto& a : args) words[2] += " " + a;
  words[2] += " >" + log + " 2>&1";
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  REQUIRE(posix_spawn(&pid, "/bin/sh", nullptr, nullptr, argv.data(), environ) == 0);
  return pid;
}

// SIGTERM, and again every 2 ms until it has exited, as senders repeat it (timeout(1) signals the
// command, then its process group): each repeat must leave the graceful stop to finish. Its wait status.
int stop_by_sigterm(pid_t pid) {
  REQUIRE(::kill(pid, SIGTERM) == 0);
  int status = 0;
  pid_t done = 0;
  while ((done = ::waitpid(pid, &status, WNOHANG)) == 0) {
    ::kill(pid, SIGTERM);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  REQUIRE(done == pid);
  return status;
}

// A resumed run's config.json is the run it continued (not TrainConfig's defaults), with provenance:
// the first command kept, the resume recorded with its checkpoint and update.
void check_resumed_config(const std::string& out, int64_t length, const std::string& checkpoint, int64_t stopped_at) {
  auto config = read_json(out + "/config.json");
  CHECK(config.at("lr") == 2e-3);
  CHECK(config.at("warmup") == 20);
  CHECK(config.at("updates") == length);   // the length --updates gave the resume
  CHECK_FALSE(config.contains("resume"));  // history, under provenance: a --config of this file starts afresh
  CHECK(config.at("eval_targets") == nlohmann::json({3600.0, 1800.0}));
  const auto provenance = config.at("provenance");
  CHECK(provenance.at("command").at(1) == "--dataset");  // the first command, kept
  REQUIRE(provenance.at("resumes").size() == 1);
  CHECK(provenance.at("resumes").at(0).at("command").at(1) == "--resume");
  CHECK(provenance.at("resumes").at(0).at("from_checkpoint") == checkpoint);
  CHECK(provenance.at("resumes").at(0).at("at_update") == stopped_at);
  CHECK(provenance.at("toolkit").get<std::string>().rfind("aaren-rl ", 0) == 0);
  CHECK(provenance.at("libtorch").get<std::string>().size() > 0);
  config.erase("provenance");
  CHECK(config == aaren::load_checkpoint(out + "/checkpoint.pt").config.to_json());
}

}  // namespace

TEST_CASE(
    "cli: SIGTERM stops training with a checkpoint and logs, and resuming it == the uninterrupted run, bit for bit",
    "[cli][decision]") {
  const auto dir = aaren::testing::temp_dir("train_stop");
  // Dropout on (its generator must be restored too); a constant rate after the warm-up, so the run's
  // length does not change its updates.
  const std::string common = "train --dataset " + kTrainData +
                             " --backbone transformer --embed-dim 16 --layers 1 --context 5 --batch-size 16"
                             " --lr 2e-3 --warmup 20 --eval-every 400 --eval-episodes 1 --threads 1"
                             " --checkpoint-every 0 --seed 4";
  // The stopped run is too long to end before the signal, however late this thread sees its log.
  const std::string out = dir + "/stopped";
  std::vector<std::string> args;
  for (std::istringstream words(common + " --updates 100000 --out " + out); !words.eof();) {
    std::string w;
    words >> w;
    if (!w.empty()) args.push_back(w);
  }
  const pid_t pid = spawn_aaren(args, dir + "/stopped.log");
  // Stop it once it has logged a few updates.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (read_lines(out + "/train_log.csv").size() < 20 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const int status = stop_by_sigterm(pid);
  const auto log_text = read_lines(dir + "/stopped.log");
  std::string console;
  for (const auto& l : log_text) console += l + "\n";
  INFO(console);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 128 + SIGTERM);
  CHECK(console.find("stopped by SIGTERM after update") != std::string::npos);
  // The logs: headers, flushed rows up to the stop; a checkpoint at that update, loadable.
  const auto rows = read_lines(out + "/train_log.csv");
  REQUIRE(rows.size() >= 21);
  CHECK(rows.front() == "update,loss,lr,seconds,steps");
  const int64_t stopped_at = std::stoll(rows.back().substr(0, rows.back().find(',')));
  // The run never stopped, and the resumed one, end at 400 updates (later if the stop came later).
  const int64_t length = std::max<int64_t>(400, stopped_at + 100);
  auto r = run_aaren(common + " --updates " + std::to_string(length) + " --out " + dir + "/straight");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(read_lines(out + "/eval.csv").front() ==
        "update,target,return_mean,return_std,score_mean,score_std,seed,episodes");
  const auto checkpoint = out + "/checkpoint_" + std::to_string(stopped_at) + ".pt";
  REQUIRE(std::filesystem::exists(checkpoint));
  CHECK(aaren::load_checkpoint(checkpoint).update == stopped_at);
  CHECK_FALSE(std::filesystem::exists(out + "/checkpoint.pt"));

  // Resumed by naming the folder (and the length): the same weights as the run never stopped.
  r = run_aaren("train --resume " + out + " --updates " + std::to_string(length));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(max_weight_difference(dir + "/straight/checkpoint.pt", out + "/checkpoint.pt") == 0.0);
  // One row per update, none twice, the header once.
  const auto resumed_rows = read_lines(out + "/train_log.csv");
  CHECK(resumed_rows.size() == static_cast<size_t>(length) + 1);
  CHECK(resumed_rows[stopped_at].substr(0, resumed_rows[stopped_at].find(',')) == std::to_string(stopped_at));
  check_resumed_config(out, length, checkpoint, stopped_at);
}

TEST_CASE("cli: evaluations during training at both DT targets, eval.svg, pruned checkpoints, --config, --version",
          "[cli][decision]") {
  const auto dir = aaren::testing::temp_dir("train_curve");
  const std::string out = dir + "/run";
  auto r = run_aaren("train --dataset " + kTrainData +
                     " --backbone aaren --embed-dim 16 --layers 1 --aaren-batch 2 --chunk-steps 50 --updates 30"
                     " --warmup 5 --eval-episodes 1 --threads 1 --checkpoint-every 10 --keep-last 2 --lr 3e-3 --out " +
                     out);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  // Default: 10 evaluations (every 3 updates), each at hopper's two DT targets.
  const auto evals = read_lines(out + "/eval.csv");
  REQUIRE(evals.size() == 1 + 10 * 2);
  CHECK(evals[1].rfind("3,3600,", 0) == 0);
  CHECK(evals[2].rfind("3,1800,", 0) == 0);
  CHECK(evals.back().rfind("30,1800,", 0) == 0);
  std::ifstream svg(out + "/eval.svg");
  const std::string plot((std::istreambuf_iterator<char>(svg)), {});
  CHECK(plot.find("target 3600") != std::string::npos);
  CHECK(plot.find("target 1800") != std::string::npos);
  CHECK(r.output.find("target 3600: return") != std::string::npos);
  CHECK(r.output.find("nan") == std::string::npos);
  // Periodic checkpoints at 10 and 20 (30 is the final checkpoint.pt); --keep-last 2 keeps both.
  CHECK(std::filesystem::exists(out + "/checkpoint_10.pt"));
  CHECK(std::filesystem::exists(out + "/checkpoint_20.pt"));
  CHECK(std::filesystem::exists(out + "/checkpoint.pt"));

  // --keep-last 1 deletes the older one.
  r = run_aaren("train --config " + out + "/config.json --keep-last 1 --out " + dir + "/again");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_FALSE(std::filesystem::exists(dir + "/again/checkpoint_10.pt"));
  CHECK(std::filesystem::exists(dir + "/again/checkpoint_20.pt"));
  // Started from the first run's config.json: the same run (seed included), so the same weights.
  CHECK(max_weight_difference(out + "/checkpoint.pt", dir + "/again/checkpoint.pt") == 0.0);
  auto a = read_json(out + "/config.json"), b = read_json(dir + "/again/config.json");
  for (auto* j : {&a, &b}) j->erase("provenance"), j->erase("out"), j->erase("keep_last");
  CHECK(a == b);
  // --config needs --out (the file's folder is another run's), and a file that is not a config says so.
  r = run_aaren("train --config " + out + "/config.json");
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("give --out") != std::string::npos);
  std::ofstream(dir + "/bad.json") << R"({"lr": 0.001, "learning_rate": 3})";
  r = run_aaren("train --config " + dir + "/bad.json --out " + dir + "/bad");
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("unknown key 'learning_rate'") != std::string::npos);
  std::ofstream(dir + "/heads.json") << R"({"head": 2})";
  r = run_aaren("train --config " + dir + "/heads.json --out " + dir + "/bad");
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("unknown key 'head' (did you mean 'heads'?)") != std::string::npos);
  // --resume of a folder without checkpoints.
  std::filesystem::create_directories(dir + "/empty");
  r = run_aaren("train --resume " + dir + "/empty");
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("no checkpoint_<update>.pt or checkpoint.pt") != std::string::npos);
  // A finished run (its checkpoint.pt written after checkpoint_20.pt) trains on from checkpoint.pt.
  r = run_aaren("train --resume " + out + " --updates 33");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(aaren::load_checkpoint(out + "/checkpoint.pt").update == 33);
  CHECK(read_json(out + "/config.json").at("provenance").at("resumes").back().at("from_checkpoint") ==
        out + "/checkpoint.pt");

  r = run_aaren("--version");
  CHECK(r.exit_code == 0);
  CHECK(r.output.rfind("aaren-rl ", 0) == 0);
  CHECK(r.output.find("LibTorch") != std::string::npos);
  r = run_aaren("help train");
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("--keep-last") != std::string::npos);
}

// A target whose scaled value (target / return_scale) is past 2^64 makes every backbone act NaN
// (its embedding's square overflows float): train, rollout and compare refuse it before anything
// runs. A policy that acts NaN on a sane target (weights near float's limit, as a damaged or
// diverged file can hold) is refused in one line naming the file, the value, env, episode and step.
TEST_CASE("cli: a target past float's range is refused before the run, a policy acting NaN names its file",
          "[cli][decision]") {
  const auto dir = aaren::testing::temp_dir("train_nan_actions");
  const std::string small = " --embed-dim 16 --layers 1 --warmup 1 --eval-episodes 1 --threads 1";
  auto r =
      run_aaren("train --dataset " + kTrainData + small + " --updates 2 --eval-targets 3600 1e25 --out " + dir + "/x");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("--eval-targets 1e+25: divided by --return-scale 1000 it must be within "
                                       "+-2^64 (1.8e19; float arithmetic overflows squaring it)"));
  CHECK_FALSE(std::filesystem::exists(dir + "/x"));
  r = run_aaren("train --dataset " + kTrainData + small + " --updates 2 --out " + dir + "/run");
  REQUIRE(r.exit_code == 0);
  const std::string good = dir + "/run/checkpoint.pt";
  for (const std::string command : {"rollout --checkpoint " + good, "compare " + good}) {
    r = run_aaren(command + " --episodes 1 --target-return -1e300");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains("--target-return -1e+300: divided by --return-scale 1000"));
  }
  // Every weight times 1e30: finite (the largest about 1e30), but the first layer's outputs square past float.
  auto agent = aaren::load_checkpoint(good);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : agent.model->parameters()) p.mul_(1e30);
  }
  const std::string huge = dir + "/huge.pt";
  aaren::save_checkpoint(huge, agent.model, agent.config, agent.normalizer, agent.env, agent.update);
  for (const std::string command : {"rollout --checkpoint " + huge, "compare " + huge}) {
    r = run_aaren(command + " --episodes 1");
    INFO(r.output);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains(huge + ": the policy's action[") &&
                             Catch::Contains("(env 0, episode 0, step 0): no env was stepped with it; the policy "
                                             "computes values past float's range (a target (3600)"));
  }
  // Training's evaluation: one step of lr 1e29 (decay factor 1 - 1e30) leaves the weights finite, about
  // 1e30, after a finite loss; the evaluation acts NaN (a second update's loss would be NaN). The final
  // evaluation sets its checkpoint.pt aside, under a name --resume does not take.
  const std::string diverging = small + " --lr 1e29 --weight-decay 10";
  for (const std::string kind : {"aaren", "transformer", "lstm"}) {
    const std::string out = dir + "/" + kind;
    r = run_aaren("train --dataset " + kTrainData + diverging + " --updates 1 --backbone " + kind + " --out " + out);
    INFO(r.output);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains("\naaren train: the evaluation of update 1 at target 3600: the policy's "
                                         "action[") &&
                             Catch::Contains("its weights grown too large (--lr too large") &&
                             Catch::EndsWith("no checkpoint of this run is kept; the final model, which acted so, "
                                             "is set aside as " +
                                             out + "/checkpoint.diverged.pt\n"));
    CHECK_FALSE(std::filesystem::exists(out + "/checkpoint.pt"));
    CHECK(aaren::load_checkpoint(out + "/checkpoint.diverged.pt").update == 1);
    CHECK(read_lines(out + "/train_log.csv").size() == 1 + 1);
  }
  // An evaluation during training (update 1 of 2) under --seeds: no checkpoint yet, but the run got
  // past its input, so its folder and logs are kept (the group's launcher kept only checkpoints).
  r = run_aaren("train --seeds 4 --dataset " + kTrainData + diverging + " --updates 2 --eval-every 1 --out " + dir +
                "/group");
  INFO(r.output);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("the evaluation of update 1 at target 3600") &&
                           Catch::Contains("no checkpoint of this run is kept"));
  CHECK(read_lines(dir + "/group/seed_4/train_log.csv").size() == 1 + 1);
  CHECK(read_lines(dir + "/group/seed_4/eval.csv").size() == 1);  // the header: no target was evaluated
}

TEST_CASE("cli: train --print-config shows the run as it would run and writes nothing, a resume too", "[cli]") {
  const auto dir = aaren::testing::temp_dir("print_config");
  const std::string out = dir + "/run";
  const std::string run = "train --dataset " + kTrainData +
                          " --backbone aaren --embed-dim 16 --layers 1 --aaren-batch 2 --updates 4 --eval-episodes 1"
                          " --threads 1";
  const std::string args = run + " --out " + out;
  auto shown = run_aaren(args + " --print-config", /*merge_stderr=*/false);
  INFO(shown.output);
  REQUIRE(shown.exit_code == 0);
  const auto resolved = nlohmann::json::parse(shown.output);
  CHECK(resolved.at("env") == "Hopper-v3");  // from the data
  CHECK(resolved.at("eval_targets") == nlohmann::json::array({3600.0, 1800.0}));
  CHECK(resolved.at("eval_every") == 1);  // updates / 10, at least 1
  CHECK_FALSE(std::filesystem::exists(out));
  auto r = run_aaren(args);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  std::ifstream in(out + "/config.json");
  auto ran = nlohmann::json::parse(in);
  ran.erase("provenance");
  CHECK(ran == resolved);
  // A resume: the stored run with the new length; the run's folder is left as it was.
  const auto files_before = std::distance(std::filesystem::directory_iterator(out), {});
  shown = run_aaren("train --resume " + out + " --updates 8 --print-config", false);
  INFO(shown.output);
  REQUIRE(shown.exit_code == 0);
  const auto continued = nlohmann::json::parse(shown.output);
  CHECK(continued.at("updates") == 8);
  CHECK(continued.at("embed_dim") == 16);
  CHECK(std::distance(std::filesystem::directory_iterator(out), {}) == files_before);
  // Bad input is refused by name, as the run itself would refuse it.
  r = run_aaren("train --resume " + out + " --updates 8 --lr 1 --print-config");
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("--lr cannot change on --resume") != std::string::npos);
  r = run_aaren("train --resume " + out + " --updates 4 --print-config");
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("--updates 4 is not beyond the checkpoint's 4") != std::string::npos);
  r = run_aaren(args + " --print-config");  // a new run into a run's folder
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("holds a run") != std::string::npos);
  CHECK(r.output.find("continue it with --resume " + out) != std::string::npos);  // it has a checkpoint
  r = run_aaren(run + " --env Hoppr-v3 --out " + dir + "/other --print-config");
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("Hoppr-v3") != std::string::npos);
}

TEST_CASE("cli: datasets by name through D4RL's and Minari's folders, and each Gymnasium version acting as itself",
          "[cli][data]") {
  const auto dir = aaren::testing::temp_dir("dataset_names");
  const auto d4rl = dir + "/d4rl", minari = dir + "/minari";
  std::filesystem::create_directories(d4rl);
  // D4RL downloads hopper-medium-v2 as hopper_medium-v2.hdf5.
  std::filesystem::copy_file(kTrainData, d4rl + "/hopper_medium-v2.hdf5");
  // A Minari dataset, mujoco/test/tiny-v0, recorded in Hopper-v5 (its env_spec, in data/metadata.json).
  REQUIRE_H5PY();
  const auto& fixtures = aaren::testing::h5py_fixtures();
  const auto dataset = minari + "/mujoco/test/tiny-v0";
  std::filesystem::create_directories(dataset);
  std::filesystem::copy(fixtures + "/minari", dataset, std::filesystem::copy_options::recursive);
  std::ofstream(dataset + "/data/metadata.json")
      << R"({"dataset_id": "mujoco/test/tiny-v0", "env_spec": "{\"id\": \"Hopper-v5\", \"max_episode_steps\": 1000}"})";
  ::setenv("D4RL_DATASET_DIR", d4rl.c_str(), 1);
  ::setenv("MINARI_DATASETS_PATH", minari.c_str(), 1);

  auto r = run_aaren("data list --json", false);
  REQUIRE(r.exit_code == 0);
  const auto listed = nlohmann::json::parse(r.output).at("datasets");
  REQUIRE(listed.size() == 2);
  CHECK(listed[0].at("name") == "hopper-medium-v2");
  CHECK(listed[0].at("source") == "D4RL");
  CHECK(listed[1].at("name") == "mujoco/test/tiny-v0");
  CHECK(listed[1].at("source") == "Minari");

  // Training by D4RL name: the file is found, and config.json records it.
  r = run_aaren(
      "train --dataset hopper-medium-v2 --backbone transformer --embed-dim 16 --layers 1 --updates 2"
      " --eval-episodes 1 --threads 1 --out " +
      dir + "/by-name");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto config = read_json(dir + "/by-name/config.json");
  CHECK(config.at("dataset") == d4rl + "/hopper_medium-v2.hdf5");
  CHECK(config.at("env") == "Hopper-v3");
  // The Minari id resolves too: inspect reads its env_spec's id...
  r = run_aaren("data inspect mujoco/test/tiny-v0 --json", false);
  REQUIRE(r.exit_code == 0);
  CHECK(nlohmann::json::parse(r.output).dump().find("Hopper-v5") != std::string::npos);
  // ...and training evaluates in the recorded version, so this 4-dim fixture is refused against Hopper-v5's
  // sizes, naming the version, before anything is written.
  r = run_aaren("train --dataset mujoco/test/tiny-v0 --updates 2 --out " + dir + "/v5");
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("--env Hopper-v5: observations/actions 11/3") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir + "/v5"));
  // A name found nowhere: one line saying where it looked; nothing left behind.
  r = run_aaren("train --dataset hopper-expert-v2 --out " + dir + "/missing");
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("hopper_expert-v2.hdf5 in " + d4rl) != std::string::npos);
  CHECK(r.output.find("$MINARI_DATASETS_PATH") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir + "/missing"));
  ::unsetenv("D4RL_DATASET_DIR");
  ::unsetenv("MINARI_DATASETS_PATH");

  // Env ids: every version acts in its own semantics.
  for (const std::string id : {"Hopper-v4", "HalfCheetah-v5", "Walker2d-v5", "Hopper-v5"})
    CHECK(run_aaren("rollout --env " + id + " --policy random --episodes 1").exit_code == 0);
  r = run_aaren("data inspect " + kTrainData + " --env Hopper-v5 --json", false);
  CHECK(r.exit_code == 0);
  CHECK(nlohmann::json::parse(r.output).at("env") == "Hopper-v5");
}

TEST_CASE("cli: rollout --video renders env 0's first episode offscreen: frame count and size", "[cli][video]") {
  const auto dir = aaren::testing::temp_dir("video");
  for (const std::string ext : {"gif", "mp4"}) {
    const auto path = dir + "/hopper." + ext;
    auto r = run_aaren(
        "rollout --env hopper --policy random --episodes 2 --seed 3 --video-size 96x64 --json --video " + path, false);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    const auto j = nlohmann::json::parse(r.output);
    // A frame after the reset, then every k-th step of env 0's first episode (the step that ends it
    // resets the env, so it has no frame): 1 + (length - 1) / k frames. Hopper: dt 0.008 s, 30 fps -> k = 4.
    const int64_t length = j.at("lengths").at(0).get<int64_t>(), every = j.at("video").at("every");
    CHECK(every == 4);
    CHECK(j.at("video").at("fps").get<double>() == Approx(31.25));
    const int64_t expected = 1 + (length - 1) / every;
    CHECK(j.at("video").at("frames") == expected);
    // What ffmpeg's own probe reads back from the file.
    const auto probe = aaren::testing::run_shell(
        "ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames,width,height -of "
        "csv=p=0 " +
        path);
    REQUIRE(probe.exit_code == 0);
    CHECK(probe.output == "96,64," + std::to_string(expected) + "\n");
  }
  // Each video keeps its own record (hopper.gif and hopper.mp4 once shared hopper.config.json).
  for (const std::string ext : {"gif", "mp4"})
    CHECK(read_json(dir + "/hopper." + ext + ".config.json").at("output") == "hopper." + ext);
  // Bad requests: one line, nothing written.
  auto r = run_aaren("rollout --env hopper --episodes 1 --video " + dir + "/x.avi");
  CHECK(r.exit_code == 2);
  CHECK(r.output.find(".mp4 or .gif") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir + "/x.avi"));
  r = run_aaren("rollout --env hopper --episodes 1 --video-size 95x64 --video " + dir + "/y.gif");
  CHECK(r.exit_code == 2);
  CHECK_FALSE(std::filesystem::exists(dir + "/y.gif"));
}

TEST_CASE("cli: every command takes --help and the vocabulary's names (docs/CLI.md)", "[cli]") {
  // Each command with the vocabulary's flags it must take (docs/CLI.md's table).
  const std::vector<std::pair<std::string, std::vector<std::string>>> commands{
      {"train",
       {"--env",           "--dataset",    "--out",           "--resume",     "--config",    "--seed",     "--threads",
        "--eval-episodes", "--eval-every", "--target-return", "--batch-size", "--embed-dim", "--layers",   "--heads",
        "--device",        "--precision",  "--backbone",      "--seeds",      "--jobs",      "--overwrite"}},
      {"plot", {"--out", "--target", "--labels"}},
      {"rollout",
       {"--env", "--checkpoint", "--policy", "--seed", "--threads", "--env-threads", "--episodes", "--target-return",
        "--mode", "--runtime", "--json", "--video"}},
      {"compare", {"--checkpoint", "--dataset", "--episodes", "--target-return", "--seed", "--csv", "--json"}},
      {"sac", {"--env", "--out", "--resume", "--seed", "--threads", "--eval-episodes", "--eval-every", "--overwrite"}},
      {"collect", {"--env", "--policy", "--out", "--seed", "--overwrite"}},
      {"export", {"--checkpoint", "--out", "--overwrite"}},
      {"envs", {"--json"}},
      {"backbones", {"--json"}},
      {"data inspect", {"--dataset", "--env", "--json"}},
      {"data validate", {"--dataset"}},
      {"data concat", {"--out", "--overwrite"}},
      {"data list", {"--json"}},
      {"bench scan", {"--batch-size", "--embed-dim", "--heads", "--threads", "--seed", "--device", "--csv", "--json"}},
      {"bench data", {"--dataset", "--batch-size", "--seed", "--csv", "--json"}},
      {"bench env", {"--env-threads", "--seed", "--csv", "--json"}},
      {"bench policy",
       {"--checkpoint", "--batch-size", "--embed-dim", "--layers", "--heads", "--threads", "--seed", "--csv", "--plot",
        "--json"}},
      {"bench train",
       {"--batch-size", "--embed-dim", "--layers", "--heads", "--threads", "--seed", "--device", "--precision", "--csv",
        "--plot", "--json", "--backbones"}},
      {"bench conditioning", {"--checkpoint", "--dataset", "--seed", "--threads", "--csv", "--json"}},
  };
  for (const auto& [command, flags] : commands) {
    INFO(command);
    const auto r = run_aaren(command + " --help", false);
    REQUIRE(r.exit_code == 0);
    for (const auto& flag : flags) {
      INFO(flag);
      CHECK(r.output.find("  " + flag + " ") != std::string::npos);
    }
    // The old dialect is gone.
    for (const std::string old : {"--d-model", "--torch-threads", "--batch ", "--checkpoints", "--file "})
      CHECK(r.output.find(old) == std::string::npos);
    CHECK(r.output.find("0000000000") == std::string::npos);  // defaults as typed (0.1, not 0.10000000000000001)
  }
  // `aaren help CMD SUB` is `aaren CMD SUB --help`.
  CHECK(run_aaren("help bench train", false).output == run_aaren("bench train --help", false).output);
}

TEST_CASE("cli: docs/CLI-REFERENCE.md is what 'aaren help --markdown' writes from the commands' tables", "[cli]") {
  const auto r = run_aaren("help --markdown", false);
  REQUIRE(r.exit_code == 0);
  for (const std::string command :
       {"train", "compare", "export", "plot", "envs", "backbones", "rollout", "sac", "collect", "data inspect",
        "data validate", "data concat", "data list", "bench scan", "bench env", "bench policy", "bench train",
        "bench data", "bench conditioning"}) {
    INFO(command);
    CHECK(r.output.find("## aaren " + command + "\n") != std::string::npos);
  }
  CHECK(r.output.find("| `--embed-dim N` | `128` | model width |") != std::string::npos);
  CHECK(r.output.find("| `--fused-norm 0\\|1` | `1` |") != std::string::npos);  // '|' escaped, even in code
  CHECK(r.output.find("checkpoint_&lt;update&gt;.pt") != std::string::npos);    // not an HTML tag
  std::ifstream in(std::string(AAREN_SOURCE_DIR) + "/docs/CLI-REFERENCE.md");
  const std::string committed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // After changing a flag: build/aaren help --markdown > docs/CLI-REFERENCE.md
  CHECK(r.output == committed);
}

TEST_CASE("cli: settings files use the flags' names as keys (embed_dim for --embed-dim)", "[cli]") {
  const auto dir = aaren::testing::temp_dir("config_keys");
  // Keys a command adds beside its settings: what it resolved or what ran it.
  const std::set<std::string> resolved{"provenance", "command", "score_references", "backbone", "tokens"};
  auto check_keys = [&](const std::string& command, const nlohmann::json& config) {
    const auto help = run_aaren(command + " --help", false).output;
    REQUIRE(config.is_object());
    for (const auto& [key, value] : config.items()) {
      if (resolved.count(key)) continue;
      std::string flag = "--" + key;
      std::replace(flag.begin(), flag.end(), '_', '-');
      INFO(command << ": key " << key);
      CHECK(help.find("  " + flag + " ") != std::string::npos);
    }
  };
  auto r = run_aaren("rollout --env hopper --episodes 1 --json", false);
  REQUIRE(r.exit_code == 0);
  check_keys("rollout", nlohmann::json::parse(r.output).at("config"));
  r = run_aaren("bench scan --lengths 6 --heads 1 --batch-size 2 --embed-dim 8 --min-rounds 1 --min-seconds 0 --json",
                false);
  REQUIRE(r.exit_code == 0);
  check_keys("bench scan", nlohmann::json::parse(r.output).at("config"));
  r = run_aaren(
      "sac --env hopper --env-steps 40 --learning-starts 20 --batch-size 8 --hidden-dim 8 --eval-every 0"
      " --out " +
      dir + "/sac");
  REQUIRE(r.exit_code == 0);
  check_keys("sac", read_json(dir + "/sac/config.json"));
  r = run_aaren("train --dataset " + kTrainData +
                " --backbone aaren --embed-dim 16 --layers 1 --aaren-batch 2"
                " --chunk-steps 50 --updates 1 --eval-every 0 --threads 1 --out " +
                dir + "/run");
  REQUIRE(r.exit_code == 0);
  const auto train_config = read_json(dir + "/run/config.json");
  check_keys("train", train_config);
  CHECK(train_config.at("layers") == 1);  // formerly n_layers, still read from older files
  r = run_aaren("compare " + dir + "/run/checkpoint.pt --episodes 1 --csv " + dir + "/compare.csv", false);
  REQUIRE(r.exit_code == 0);
  check_keys("compare", read_json(dir + "/compare.config.json").at("config"));
}

TEST_CASE("cli: sac --resume DIR continues the run in DIR with its settings (older key names too)", "[cli][sac]") {
  const auto dir = aaren::testing::temp_dir("sac_resume_cli");
  const std::string out = dir + "/run";
  auto r = run_aaren(
      "sac --env hopper --env-steps 300 --learning-starts 50 --batch-size 8 --hidden-dim 8"
      " --eval-every 0 --state-every 100 --seed 3 --stop-at-return 1e9 --out " +
      out);
  REQUIRE(r.exit_code == 0);
  REQUIRE(std::filesystem::exists(out + "/resume.pt"));
  // A config.json written before the renames: steps, hidden, checkpoint_steps, resume as a switch.
  auto config = read_json(out + "/config.json");
  config["steps"] = config.at("env_steps"), config["hidden"] = config.at("hidden_dim");
  config["checkpoint_steps"] = config.at("save_policy_steps"), config["resume"] = false;
  for (const char* key : {"env_steps", "hidden_dim", "save_policy_steps"}) config.erase(key);
  std::ofstream(out + "/config.json") << config.dump(2);
  const auto before = read_json(out + "/config.json");
  // A flag that would change what the saved state belongs to: refused, nothing rewritten.
  r = run_aaren("sac --resume " + out + " --hidden-dim 16");
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("--hidden-dim 16: the run in " + out + " has 8") != std::string::npos);
  CHECK(read_json(out + "/config.json") == before);
  r = run_aaren("sac --resume " + out + " --threads 1");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("trained 300 env steps") != std::string::npos);
  const auto resumed = read_json(out + "/config.json");
  CHECK(resumed.at("hidden_dim") == 8);  // from the stored settings, not the default 256
  CHECK(resumed.at("env_steps") == 300);
  CHECK(resumed.at("learning_starts") == 50);
  // How far and when to stop come from this command line: the first run's --stop-at-return is not inherited.
  CHECK(resumed.at("stop_at_return").is_null());
  CHECK(resumed.at("seed") == 3);
  // Nothing to resume: one line naming what is missing.
  r = run_aaren("sac --resume " + dir);
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("no config.json") != std::string::npos);
  std::filesystem::remove(out + "/resume.pt");
  r = run_aaren("sac --resume " + out);
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("resume.pt") != std::string::npos);
}

TEST_CASE("cli: one name for the normalised score in every output (score_mean, score_std, scores)", "[cli]") {
  const auto dir = aaren::testing::temp_dir("score_name");
  // Every key of a JSON value, nested ones too.
  std::function<void(const nlohmann::json&, std::vector<std::string>&)> keys_of = [&](const nlohmann::json& j,
                                                                                      std::vector<std::string>& out) {
    if (j.is_object())
      for (const auto& [k, v] : j.items()) out.push_back(k), keys_of(v, out);
    if (j.is_array())
      for (const auto& v : j) keys_of(v, out);
  };
  const std::vector<std::string> outputs{
      run_aaren("rollout --env hopper --policy random --episodes 2 --json", false).output,
      run_aaren("data inspect " + kTrainData + " --json", false).output};
  for (const auto& text : outputs) {
    std::vector<std::string> keys;
    keys_of(nlohmann::json::parse(text), keys);
    INFO(text.substr(0, 300));
    CHECK(std::find(keys.begin(), keys.end(), "score_mean") != keys.end());
    for (const auto& k : keys) CHECK(k.find("normaliz") == std::string::npos);
  }
  // A training run's eval.csv and compare's table say it alike.
  auto r = run_aaren("train --dataset " + kTrainData +
                     " --backbone aaren --embed-dim 16 --layers 1 --aaren-batch 2"
                     " --chunk-steps 50 --updates 2 --eval-every 2 --eval-episodes 1 --threads 1 --out " +
                     dir + "/run");
  REQUIRE(r.exit_code == 0);
  CHECK(aaren::testing::read_lines(dir + "/run/eval.csv").at(0).find(",score_mean,score_std,") != std::string::npos);
  r = run_aaren("compare " + dir + "/run/checkpoint.pt --episodes 1 --csv " + dir + "/compare.csv", false);
  REQUIRE(r.exit_code == 0);
  CHECK(aaren::testing::read_lines(dir + "/compare.csv").at(0).find(",score_mean,score_std,") != std::string::npos);
}

TEST_CASE("cli: rollout --policy runs a SAC behaviour policy file deterministically", "[cli]") {
  // The bundled Hopper SAC policy at the end of its run (deterministic evaluation during SAC: about 3100).
  const auto r = run_aaren("rollout --policy " + std::string(AAREN_SOURCE_DIR) +
                               "/data/bundled/policies/sac-hopper-seed1-final.pt --episodes 2 --json",
                           false);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.output);
  CHECK(j.at("config").at("env") == "Hopper-v3");  // from the policy file (its "hopper": v3)
  CHECK(j.at("config").at("backbone") == "sac");
  CHECK(j.at("config").at("num_envs") == 2);
  CHECK(j.at("config").at("mode") == "deterministic");
  CHECK(j.at("score_mean").get<double>() > 60);  // a random policy scores about 1
  // Deterministic: collect's --deterministic run of the same policy from the same first reset plays
  // the same first episode (the SAC policy's tanh(mean); a sampling policy would differ).
  const auto dir = aaren::testing::temp_dir("sac_deterministic");
  const std::string policy = std::string(AAREN_SOURCE_DIR) + "/data/bundled/policies/sac-hopper-seed1-final.pt";
  REQUIRE(run_aaren("collect --env hopper --policy " + policy + " --deterministic --episodes 1 --seed " +
                    std::to_string(j.at("config").at("seed").get<uint64_t>()) + " --out " + dir + "/d.hdf5")
              .exit_code == 0);
  const auto replayed = run_aaren("data inspect " + dir + "/d.hdf5 --json", false);
  REQUIRE(replayed.exit_code == 0);
  CHECK(nlohmann::json::parse(replayed.output).at("return_max").get<double>() ==
        Approx(j.at("returns").at(0).get<double>()).epsilon(1e-9));
  // Not a policy file: one line.
  const auto bad = run_aaren("rollout --policy " + kTrainData + " --episodes 1");
  CHECK(bad.exit_code == 2);
  CHECK(bad.output.find("a SAC policy file") != std::string::npos);
}
