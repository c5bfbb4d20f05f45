// Data-parallel training over c10d/Gloo, end to end through the real program:
// W ranks of batch B/W train exactly what one rank of batch B trains, a dead
// or missing rank ends the run with a clear error instead of a hang, and the
// batch samplers' slices are the global batch's.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <vector>

#include "agents/checkpoint/checkpoint.h"
#include "agents/training/distributed.h"
#include "data/hdf5_io.h"
#include "data/trajectory_dataset.h"
#include "tests/apps/run_aaren.h"
#include "tests/data/fixtures.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using aaren::testing::run_aaren;
using aaren::testing::text_of;

const std::string kData = std::string(AAREN_SOURCE_DIR) + "/data/bundled/hopper-medium-expert-mini.hdf5";

std::string fresh_dir(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("aaren_dist_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  return dir.string();
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// One rank of `aaren train`, started by hand as torchrun would, its stderr to a file.
pid_t start_rank(int rank, int world, int port, const std::string& args, const std::string& stderr_file) {
  const std::string command = "RANK=" + std::to_string(rank) + " WORLD_SIZE=" + std::to_string(world) +
                              " MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) + " exec " + AAREN_BINARY +
                              " train " + args + " >/dev/null 2>" + stderr_file;
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  pid_t pid = 0;
  REQUIRE(::posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) == 0);
  return pid;
}

// Waits for `pid` up to `limit`; returns its exit code, or -1 (then kills it).
int wait_for(pid_t pid, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return -1;
}

// The loss column of a train_log.csv's last row.
double last_loss(const std::string& log) {
  const auto row = log.substr(log.rfind('\n', log.size() - 2) + 1);
  const auto comma = row.find(',');
  return std::stod(row.substr(comma + 1, row.find(',', comma + 1) - comma - 1));
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Two ranks of a Gloo group in this process (rank 1 on a thread), each running
// `body(rank, reducer)`; REQUIREs that neither threw.
void with_two_thread_ranks(const std::function<void(int, aaren::dist::GradientAllReduce&)>& body) {
  REQUIRE(aaren::dist::available());
  const int port = free_port();
  std::vector<std::string> errors(2);
  auto rank_body = [&](int rank) {
    try {
      aaren::dist::LaunchInfo launch;
      launch.rank = rank, launch.local_rank = rank, launch.world_size = 2, launch.master_port = port;
      aaren::dist::ProcessGroup group(launch, "gloo", std::chrono::seconds(60));
      aaren::dist::GradientAllReduce reducer(group);
      body(rank, reducer);
    } catch (const std::exception& e) {
      errors[rank] = e.what();
    }
  };
  std::thread rank1(rank_body, 1);
  rank_body(0);
  rank1.join();
  INFO(errors[0] << " | " << errors[1]);
  REQUIRE(errors[0].empty());
  REQUIRE(errors[1].empty());
}

}  // namespace

TEST_CASE("Batch samplers: the slices W ranks draw are the global batch's, in order", "[distributed]") {
  const auto transitions = aaren::data::read_dataset(kData);
  const auto split = aaren::data::split_episodes(transitions);
  const aaren::data::TrajectoryDataset dataset(transitions, split);
  aaren::data::BatchOptions options;
  for (const int world : {2, 4}) {
    INFO("world " << world);
    aaren::data::WindowSampler whole(dataset, 10, options, 7);
    aaren::data::EpisodeSampler whole_episodes(dataset, options, 7);
    std::vector<aaren::data::WindowSampler> windows;
    std::vector<aaren::data::EpisodeSampler> episodes;
    for (int r = 0; r < world; ++r)
      windows.emplace_back(dataset, 10, options, 7), episodes.emplace_back(dataset, options, 7);
    for (int draw = 0; draw < 3; ++draw) {  // the generators stay in step across draws
      const auto all = whole.sample(8);
      const auto all_episodes = whole_episodes.sample(4 * world);
      for (int r = 0; r < world; ++r) {
        const auto part = windows[r].sample(8, r * 8 / world, 8 / world);
        CHECK(torch::equal(part.states, all.states.narrow(0, r * 8 / world, 8 / world)));
        CHECK(torch::equal(part.mask, all.mask.narrow(0, r * 8 / world, 8 / world)));
        const auto ep = episodes[r].sample(4 * world, r * 4, 4);
        // Padded to the slice's longest episode: compare the real steps.
        const auto mine = all_episodes.mask.narrow(0, r * 4, 4).narrow(1, 0, ep.length());
        CHECK(torch::equal(ep.mask, mine));
        CHECK(torch::equal(ep.actions * ep.mask.unsqueeze(-1),
                           all_episodes.actions.narrow(0, r * 4, 4).narrow(1, 0, ep.length()) * mine.unsqueeze(-1)));
      }
    }
  }
  aaren::data::WindowSampler s(dataset, 10, options, 1);
  CHECK_THROWS_AS(s.sample(8, 6, 4), std::invalid_argument);
}

// The acceptance check: 2 ranks of batch 32 == 1 rank of batch 64, on the same
// samples with dropout 0, to 1e-5 after 20 updates, for both backbones.
TEST_CASE("Data-parallel: 2 Gloo ranks of half the batch train the weights of 1 rank of the whole batch",
          "[distributed]") {
  REQUIRE(aaren::dist::available());  // scripts/setup.sh installs libgloo-dev: a build without it fails here
  const std::string common =
      "--dataset " + kData +
      " --updates 20 --dropout 0 --embed-dim 32 --layers 2 --context 10 --lr 1e-4"
      " --warmup 5 --lr-schedule cosine --threads 1 --seed 3 --eval-episodes 1 --checkpoint-every 10";
  for (const std::string backbone : {"transformer", "aaren"}) {
    INFO(backbone);
    // Aaren: whole episodes, in chunks with the state carried between them.
    const std::string batch = backbone == "aaren" ? " --aaren-batch 4 --chunk-steps 40" : " --batch-size 64";
    const auto one = fresh_dir(backbone + "_1"), two = fresh_dir(backbone + "_2");
    const auto r1 = run_aaren("train " + common + batch + " --backbone " + backbone + " --out " + one);
    REQUIRE(r1.exit_code == 0);
    const auto r2 = run_aaren("train " + common + batch + " --backbone " + backbone + " --out " + two + " --nproc 2");
    INFO(r2.output);
    REQUIRE(r2.exit_code == 0);
    const auto a = aaren::load_checkpoint(one + "/checkpoint.pt"), b = aaren::load_checkpoint(two + "/checkpoint.pt");
    CHECK(b.config.nproc == 2);
    CHECK(a.config.nproc == 1);
    auto pa = a.model->named_parameters(), pb = b.model->named_parameters();
    // (DT's learning rate: Adam turns a gradient that is rounding noise, such
    // as the attention key bias's, exactly zero in exact arithmetic, into steps
    // of about lr, so the two runs can drift apart by a few lr there at most.)
    // How far the single process's weights moved over updates 11-20: the runs did train, by more than
    // 5 times the tolerance the two runs are held to.
    const auto halfway = aaren::load_checkpoint(one + "/checkpoint_10.pt");
    auto p10 = halfway.model->named_parameters();
    double worst = 0, moved = 0;
    std::string worst_name;
    for (const auto& p : pa) {
      const double d = (p.value() - pb[p.key()]).abs().max().item<double>();
      if (d > worst) worst = d, worst_name = p.key();
      moved = std::max(moved, (p.value() - p10[p.key()]).abs().max().item<double>());
    }
    INFO("worst: " << worst_name << ", moved over updates 11-20: " << moved);
    CHECK(worst < 1e-5);
    CHECK(moved > 5e-5);  // Adam moves a weight by up to about lr (1e-4, decaying) an update
    // The logged loss is the global batch's on both.
    const auto log1 = text_of(one + "/train_log.csv"), log2 = text_of(two + "/train_log.csv");
    CHECK(std::count(log2.begin(), log2.end(), '\n') == 21);
    CHECK(last_loss(log2) == Approx(last_loss(log1)).epsilon(1e-4));
    // Resuming needs the same world size, and says so.
    const auto resumed = run_aaren("train --resume " + two + "/checkpoint.pt --out " + two + " --updates 30");
    CHECK(resumed.exit_code != 0);
    CHECK(resumed.output.find("trained on 2 rank(s); resume it with --nproc 2") != std::string::npos);
    fs::remove_all(one), fs::remove_all(two);
  }
}

TEST_CASE("Resume through the command line continues exactly: 1 rank, and 2 ranks (each its own dropout stream)",
          "[distributed]") {
  REQUIRE(aaren::dist::available());
  const std::string common = "--dataset " + kData +
                             " --backbone transformer --dropout 0.1 --embed-dim 32 --layers 1 --context 10"
                             " --batch-size 16 --threads 1 --seed 4 --eval-episodes 1 --nproc 2";
  const auto straight = fresh_dir("straight"), resumed = fresh_dir("resumed");
  REQUIRE(run_aaren("train " + common + " --updates 12 --checkpoint-every 6 --out " + straight).exit_code == 0);
  {
    // One rank, through the command line, flags not repeated on --resume:
    // they keep the stored values (a default --threads 2 in place of the
    // run's 1 changes LibTorch's summation order, and the bits; it did).
    const auto one = fresh_dir("one"), one_resumed = fresh_dir("one_resumed");
    const auto single = common.substr(0, common.find(" --nproc 2")) + " --lr 1e-3 --warmup 2";
    REQUIRE(run_aaren("train " + single + " --updates 12 --checkpoint-every 6 --out " + one).exit_code == 0);
    REQUIRE(run_aaren("train --resume " + one + "/checkpoint_6.pt --updates 12 --out " + one_resumed).exit_code == 0);
    const auto x = aaren::load_checkpoint(one + "/checkpoint.pt"),
               y = aaren::load_checkpoint(one_resumed + "/checkpoint.pt");
    CHECK(y.config.threads == 1);
    auto py = y.model->named_parameters();
    for (const auto& p : x.model->named_parameters()) {
      INFO("one rank: " << p.key());
      CHECK(torch::equal(p.value(), py[p.key()]));
    }
    fs::remove_all(one), fs::remove_all(one_resumed);
  }
  const auto r = run_aaren("train --resume " + straight + "/checkpoint_6.pt --updates 12 --nproc 2 --out " + resumed);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto a = aaren::load_checkpoint(straight + "/checkpoint.pt"),
             b = aaren::load_checkpoint(resumed + "/checkpoint.pt");
  REQUIRE(b.training);
  CHECK(b.training->rank_torch_rng.size(0) == 2);
  // The two ranks' generators differ (each its own dropout masks).
  CHECK_FALSE(torch::equal(b.training->rank_torch_rng[0], b.training->rank_torch_rng[1]));
  auto pb = b.model->named_parameters();
  for (const auto& p : a.model->named_parameters()) {
    INFO(p.key() << ": differs by " << (p.value() - pb[p.key()]).abs().max().item<double>());
    CHECK(torch::equal(p.value(), pb[p.key()]));
  }
  fs::remove_all(straight), fs::remove_all(resumed);
}

TEST_CASE("Data-parallel: a rank killed mid-run ends the other with a clear error, not a hang", "[distributed]") {
  REQUIRE(aaren::dist::available());  // scripts/setup.sh installs libgloo-dev: a build without it fails here
  const auto out = fresh_dir("kill");
  const int port = free_port();
  const std::string args = "--dataset " + kData +
                           " --backbone transformer --updates 100000 --embed-dim 32 --layers 1 --batch-size 8"
                           " --threads 1 --dist-timeout 600 --out " +
                           out;
  const pid_t rank1 = start_rank(1, 2, port, args, out + ".rank1.err");
  const pid_t rank0 = start_rank(0, 2, port, args, out + ".rank0.err");
  // Wait until training runs (rank 0 has logged updates), then kill rank 1.
  const auto started = std::chrono::steady_clock::now();
  while (seconds_since(started) < 120) {
    const auto log = text_of(out + "/train_log.csv");
    if (std::count(log.begin(), log.end(), '\n') >= 4) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const auto log = text_of(out + "/train_log.csv");
  REQUIRE(std::count(log.begin(), log.end(), '\n') >= 4);
  ::kill(rank1, SIGKILL);
  ::waitpid(rank1, nullptr, 0);
  // Its peer's death is seen as such: rank 0 ends by itself long before its 600 s timeout (no wall-clock
  // bound beyond the wait, which a loaded machine could stretch).
  const int code = wait_for(rank0, std::chrono::seconds(60));
  const auto err = text_of(out + ".rank0.err");
  INFO(err);
  CHECK(code > 0);  // not -1: it ended by itself
  CHECK(err.find("rank 0: all-reduce across 2 ranks failed") != std::string::npos);
  CHECK(err.find("another rank died") != std::string::npos);
  CHECK(std::count(err.begin(), err.end(), '\n') <= 3);  // a line, not a backtrace
  fs::remove_all(out), fs::remove(out + ".rank0.err"), fs::remove(out + ".rank1.err");
}

TEST_CASE("Data-parallel: a rank whose peers never arrive, or whose port is taken, says so and exits",
          "[distributed]") {
  REQUIRE(aaren::dist::available());  // scripts/setup.sh installs libgloo-dev: a build without it fails here
  const auto out = fresh_dir("alone");
  const std::string args = "--dataset " + kData + " --backbone transformer --updates 5 --dist-timeout 2 --out " + out;
  {
    const pid_t rank0 = start_rank(0, 2, free_port(), args, out + ".err");
    const int code = wait_for(rank0, std::chrono::seconds(30));
    const auto err = text_of(out + ".err");
    INFO(err);
    CHECK(code > 0);  // within the wait: the 2 s --dist-timeout, not the default (30 min), ended it
    CHECK(err.find("rank 0: rendezvous at 127.0.0.1:") != std::string::npos);
    CHECK(err.find("did every rank start? (WORLD_SIZE=2)") != std::string::npos);
    CHECK_FALSE(fs::exists(out + "/config.json"));
  }
  {
    // Something else listens on the port.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    socklen_t len = sizeof addr;
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd, 1) == 0);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    const pid_t rank0 = start_rank(0, 2, ntohs(addr.sin_port), args, out + ".err");
    const int code = wait_for(rank0, std::chrono::seconds(30));
    ::close(fd);
    const auto err = text_of(out + ".err");
    INFO(err);
    CHECK(code > 0);
    CHECK(err.find("set another MASTER_PORT") != std::string::npos);
  }
  fs::remove_all(out), fs::remove(out + ".err");
}

TEST_CASE("Data-parallel: a rank that refuses its input ends its peers at once, not after --dist-timeout",
          "[distributed]") {
  REQUIRE(aaren::dist::available());  // scripts/setup.sh installs libgloo-dev: a build without it fails here
  const auto out = fresh_dir("refused");
  const int port = free_port();
  const std::string rest =
      " --backbone transformer --updates 5 --embed-dim 32 --layers 1 --batch-size 8"
      " --threads 1 --dist-timeout 600 --out " +
      out;
  // Rank 1 does not find its dataset (a file missing on one machine); rank 0 has its own. The waits
  // (120 s each, however slowly a loaded machine starts the ranks) end far before the 600 s timeout.
  const pid_t rank1 = start_rank(1, 2, port, "--dataset " + out + "-missing.hdf5" + rest, out + ".rank1.err");
  const pid_t rank0 = start_rank(0, 2, port, "--dataset " + kData + rest, out + ".rank0.err");
  const int code1 = wait_for(rank1, std::chrono::seconds(120));
  const int code0 = wait_for(rank0, std::chrono::seconds(120));
  const auto err0 = text_of(out + ".rank0.err"), err1 = text_of(out + ".rank1.err");
  INFO(err0 << "\n" << err1);
  CHECK(code1 > 0);
  CHECK(code0 > 0);  // not -1: it ended by itself within the waits, not waiting out the 600 s
  CHECK(err1.find("rank 1: ") != std::string::npos);
  CHECK(err1.find("-missing.hdf5") != std::string::npos);
  // Rank 0 meets rank 1's end at its first collective, or (a loaded machine's timing) still in the
  // rendezvous, whose closed connection names it as well.
  CHECK(err0.find("another rank died") != std::string::npos);
  fs::remove_all(out), fs::remove(out + ".rank0.err"), fs::remove(out + ".rank1.err");
}

TEST_CASE("Data-parallel: launch variables are checked", "[distributed]") {
  const auto out = fresh_dir("env");
  const std::string args = "train --dataset " + kData + " --backbone transformer --updates 2 --out " + out;
  auto r = aaren::testing::run_shell("RANK=2 WORLD_SIZE=2 " + std::string(AAREN_BINARY) + " " + args + " 2>&1");
  CHECK(r.exit_code != 0);
  CHECK(r.output.find("RANK=2 is not below WORLD_SIZE=2") != std::string::npos);
  r = aaren::testing::run_shell("WORLD_SIZE=two " + std::string(AAREN_BINARY) + " " + args + " 2>&1");
  CHECK(r.exit_code != 0);
  CHECK(r.output.find("WORLD_SIZE=two: expected an integer >= 1") != std::string::npos);
  // A bad input under --nproc: each rank names itself, and the folder the launcher made is gone.
  r = run_aaren("train --dataset /no/such/file.hdf5 --backbone transformer --nproc 2 --out " + out);
  INFO(r.output);  // (rank 1's line was missing once under a loaded machine: show what was printed)
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("rank 0: /no/such/file.hdf5") != std::string::npos);
  CHECK(r.output.find("rank 1: /no/such/file.hdf5") != std::string::npos);
  CHECK_FALSE(fs::exists(out));
  r = run_aaren(args + " --nproc 3 --batch-size 64");
  CHECK(r.exit_code != 0);
  CHECK(r.output.find("--batch-size 64 must be a multiple of the 3 ranks") != std::string::npos);
  // A run that --overwrite would replace outlives ranks that refuse their input, file for file.
  REQUIRE(run_aaren(args + " --embed-dim 16 --layers 1 --eval-episodes 1 --threads 1").exit_code == 0);
  const auto old_config = aaren::testing::text_of(out + "/config.json");
  r = run_aaren("train --dataset /no/such/file.hdf5 --backbone transformer --nproc 2 --overwrite --out " + out);
  CHECK(r.exit_code == 2);
  CHECK(aaren::testing::text_of(out + "/config.json") == old_config);
  CHECK(fs::exists(out + "/checkpoint.pt"));
  fs::remove_all(out);
}

TEST_CASE("bench train --nproc 1 2: one row per rank count, the all-reduce measured only with several ranks",
          "[distributed]") {
  REQUIRE(aaren::dist::available());
  const auto r = aaren::testing::run_aaren(
      "bench train --nproc 1 2 --lengths 30 --batch-size 4 --embed-dim 16 --layers 1 --min-seconds 0 --min-rounds 2 "
      "--json",
      /*merge_stderr=*/false);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto out = nlohmann::json::parse(r.output);
  const auto& rows = out.at("rows");
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].at("nproc") == 1);
  CHECK(rows[1].at("nproc") == 2);
  CHECK(rows[0].at("aaren_allreduce_ms").get<double>() == 0.0);
  CHECK(rows[1].at("aaren_allreduce_ms").get<double>() > 0.0);
  CHECK(rows[1].at("batch") == 4);
  CHECK(rows[1].at("rounds").get<int>() >= 2);
  const auto bad = aaren::testing::run_aaren("bench train --nproc 3 --batch-size 4");
  CHECK(bad.exit_code != 0);
  CHECK(bad.output.find("--batch-size 4 must be a multiple of every --nproc") != std::string::npos);
}

// The arithmetic of one reduce, by hand: rank r's loss is sse_r / n_r, so the
// global batch's gradient is sum_r n_r grad_r / sum_r n_r, its loss likewise.
// Ranks with unequal real steps (the episode regime's) are where a wrong
// weighting shows; a constant scale alone would hide under Adam.
TEST_CASE("Data-parallel: a reduce weights each rank's gradient and loss by its real steps, over all steps",
          "[distributed]") {
  const std::vector<int64_t> steps{2, 6};
  const std::vector<double> losses{0.5, 2.0};
  std::vector<torch::Tensor> grads(2);
  std::vector<aaren::dist::GradientAllReduce::Totals> totals(2);
  with_two_thread_ranks([&](int rank, aaren::dist::GradientAllReduce& reducer) {
    auto w = torch::ones({3}, torch::requires_grad());
    auto v = torch::ones({2}, torch::requires_grad());  // rank 1 alone gives it a gradient
    (w * (rank + 1.0)).sum().backward();
    if (rank == 1) (v * 4.0).sum().backward();
    totals[rank] = reducer.reduce({w, v}, losses[rank], steps[rank]);
    grads[rank] = torch::cat({w.grad(), v.grad()});
  });
  // w: (1 * 2 + 2 * 6) / 8 = 1.75; v: (0 * 2 + 4 * 6) / 8 = 3; loss: (0.5 * 2 + 2 * 6) / 8 = 1.625.
  const auto expected = torch::tensor({1.75, 1.75, 1.75, 3.0, 3.0});
  for (int rank : {0, 1}) {
    INFO("rank " << rank << ": " << grads[rank]);
    CHECK(torch::allclose(grads[rank], expected, 0, 1e-6));
    CHECK(totals[rank].steps == 8);
    CHECK(totals[rank].loss == Approx(1.625).epsilon(1e-12));
    CHECK(totals[rank].stop_signal == 0);
  }
}

TEST_CASE("Data-parallel: the ranks agree in one update on the signal that stops them (SIGINT before SIGTERM)",
          "[distributed]") {
  // A forwarded Ctrl-C reaches the ranks one after another: the first to see
  // it tells the rest in the all-reduce, and every rank must then stop as
  // Ctrl-C stops a run (exit 130), whichever signal (if any) it saw itself.
  const std::vector<std::pair<int, int>> asked{{0, 0}, {SIGINT, 0}, {0, SIGINT}, {SIGTERM, 0}, {SIGTERM, SIGINT}};
  const std::vector<int> agreed{0, SIGINT, SIGINT, SIGTERM, SIGINT};
  std::vector<std::vector<int>> seen(2);
  with_two_thread_ranks([&](int rank, aaren::dist::GradientAllReduce& reducer) {
    auto w = torch::ones({3}, torch::requires_grad());
    (w * (rank + 1.0)).sum().backward();
    for (const auto& [first, second] : asked)
      seen[rank].push_back(reducer.reduce({w}, 1.0, 4, rank == 0 ? first : second).stop_signal);
  });
  CHECK(seen[0] == agreed);
  CHECK(seen[1] == agreed);
}

TEST_CASE("Data-parallel: Ctrl-C at a terminal stops --nproc 2 with a checkpoint, as one process would",
          "[distributed]") {
  REQUIRE(aaren::dist::available());  // scripts/setup.sh installs libgloo-dev: a build without it fails here
  // The terminal signals the whole foreground process group: the launcher forwards SIGINT once to each
  // rank, which must not also get the terminal's (its second signal would stop it at once, unsaved).
  const auto out = fresh_dir("ctrl_c");
  const int code = aaren::testing::interrupt_like_a_terminal(
      "train --dataset " + kData +
          " --backbone transformer --updates 100000 --embed-dim 32 --layers 1 --batch-size 8 --threads 1 --nproc 2"
          " --out " +
          out,
      out + ".log", [&] {
        const auto log = text_of(out + "/train_log.csv");
        return std::count(log.begin(), log.end(), '\n') >= 5;
      });
  const auto printed = text_of(out + ".log");
  INFO(printed);
  CHECK(code == 130);
  CHECK(printed.find("stopped by SIGINT after update") != std::string::npos);
  CHECK(printed.find("continue with: aaren train --resume " + out + " --nproc 2") != std::string::npos);
  bool checkpoint = false;
  for (const auto& e : fs::directory_iterator(out))
    checkpoint |= e.path().filename().string().rfind("checkpoint_", 0) == 0;
  CHECK(checkpoint);
  fs::remove_all(out), fs::remove(out + ".log");
}
