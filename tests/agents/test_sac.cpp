// SAC's pieces: the tanh log-prob correction, twin critics, target update,
// entropy tuning, checkpoints, and a short end-to-end run.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "agents/training/collect.h"
#include "agents/training/sac.h"
#include "data/hdf5_io.h"
#include "envs/mujoco_env.h"
#include "tests/agents/scan_test_support.h"
#include "tests/data/fixtures.h"

using aaren::testing::max_abs_diff;

TEST_CASE("sac: tanh-Gaussian log-prob == change of variables, and finite for large pre-activations", "[sac]") {
  torch::manual_seed(31);
  const auto mean = torch::randn({64, 3}, torch::kFloat64), log_std = torch::rand({64, 3}, torch::kFloat64) - 1;
  const auto u = mean + torch::exp(log_std) * torch::randn({64, 3}, torch::kFloat64);
  // Naive: log N(u; mean, std) - sum log(1 - tanh(u)^2).
  const auto normal = -0.5 * ((u - mean) / torch::exp(log_std)).pow(2) - log_std - 0.5 * std::log(2 * M_PI);
  const auto naive = (normal - torch::log(1 - torch::tanh(u).pow(2))).sum(-1);
  CHECK(max_abs_diff(aaren::tanh_gaussian_log_prob(u, mean, log_std), naive) < 1e-9);
  // Where tanh(u) rounds to +-1 the naive form is inf; ours stays finite and
  // follows its asymptote log(1 - tanh^2 u) ~ log 4 - 2|u|.
  const auto big = torch::tensor({{30.0, -40.0, 0.0}}, torch::kFloat64);
  const auto lp = aaren::tanh_gaussian_log_prob(big, big, torch::zeros_like(big));
  CHECK(std::isfinite(lp.item<double>()));
  const double expect = 3 * (-0.5 * std::log(2 * M_PI)) - (std::log(4.0) - 60) - (std::log(4.0) - 80) - 0.0;
  CHECK(lp.item<double>() == Approx(expect).epsilon(1e-9));
}

TEST_CASE("sac: sampled actions lie in (-1, 1) and their log-probs match the formula", "[sac]") {
  torch::manual_seed(32);
  aaren::GaussianActor actor(5, 2, 16);
  const auto obs = torch::randn({100, 5});
  torch::manual_seed(320);
  auto [a, logp] = actor->sample(obs);
  CHECK(a.abs().max().item<float>() < 1.0f);
  CHECK(logp.sizes() == torch::IntArrayRef({100}));
  CHECK(torch::isfinite(logp).all().item<bool>());
  auto [mean, log_std] = actor->forward(obs);
  // The same noise again (forward draws none): u = mean + std * eps, a = tanh(u), and the log-prob of a is
  // the Gaussian's at u less sum log(1 - tanh(u)^2) (Haarnoja et al. 2018, appendix C), here in double
  // and written as 2 (log 2 - u - softplus(-2u)), which stays finite where tanh(u) rounds to 1.
  torch::manual_seed(320);
  const auto eps = torch::randn_like(mean);
  const auto u = (mean + torch::exp(log_std) * eps).to(torch::kFloat64);
  CHECK(max_abs_diff(a.to(torch::kFloat64), torch::tanh(u)) < 1e-6);
  const auto std64 = torch::exp(log_std.to(torch::kFloat64));
  const auto gaussian =
      -0.5 * ((u - mean.to(torch::kFloat64)) / std64).pow(2) - torch::log(std64) - 0.5 * std::log(2 * M_PI);
  const auto log_one_minus_tanh2 = 2 * (std::log(2.0) - u - torch::softplus(-2 * u));
  const auto expected = (gaussian - log_one_minus_tanh2).sum(-1);
  CHECK(max_abs_diff(logp.to(torch::kFloat64), expected) < 1e-3);
  CHECK(max_abs_diff(gaussian.sum(-1), expected) > 0.1);  // the tanh correction is not negligible here
  CHECK(log_std.min().item<float>() >= -5.0f);
  CHECK(log_std.max().item<float>() <= 2.0f);
  CHECK(max_abs_diff(actor->deterministic(obs), torch::tanh(mean)) == 0.0);
}

TEST_CASE("sac: the twin critic == two separate MLPs", "[sac]") {
  torch::manual_seed(33);
  aaren::TwinQ q(4, 2, 8);
  const auto obs = torch::randn({10, 4}), act = torch::randn({10, 2});
  const auto out = q->forward(obs, act);
  REQUIRE(out.sizes() == torch::IntArrayRef({2, 10}));
  auto p = q->named_parameters();
  for (int k = 0; k < 2; ++k) {
    auto x = torch::cat({obs, act}, -1);
    x = torch::relu(x.matmul(p["l1_w"][k]) + p["l1_b"][k]);
    x = torch::relu(x.matmul(p["l2_w"][k]) + p["l2_b"][k]);
    x = x.matmul(p["l3_w"][k]) + p["l3_b"][k];
    CHECK(max_abs_diff(out[k], x.squeeze(-1)) < 1e-6);
  }
}

// Catches the planted bugs `max` for `min` over the twin critics and a target
// without (1 - terminated): both change one of the two hand-computed values.
TEST_CASE("sac: the critics' target on a 2-sample batch, by hand", "[sac]") {
  // Sample 0 continues (terminated 0), sample 1 ended in a terminal state.
  const auto f64 = torch::kDouble;
  const auto reward = torch::tensor({1.0, -2.0}, f64), terminated = torch::tensor({0.0, 1.0}, f64);
  const auto next_q = torch::tensor({{5.0, 3.0}, {4.0, 7.0}}, f64);  // critic 1, critic 2
  const auto next_log_prob = torch::tensor({-0.5, 0.25}, f64);
  const double alpha = 0.2, gamma = 0.99;
  const auto y = aaren::soft_q_target(reward, terminated, next_q, next_log_prob, alpha, gamma);
  // y0 = 1 + 0.99 * (min(5, 4) - 0.2 * -0.5) = 1 + 0.99 * 4.1; y1 = -2 (no bootstrap past a terminal).
  CHECK(y[0].item<double>() == Approx(1.0 + 0.99 * 4.1).epsilon(1e-12));
  CHECK(y[1].item<double>() == Approx(-2.0).epsilon(1e-12));
}

TEST_CASE("sac: target update is Polyak averaging", "[sac]") {
  torch::manual_seed(34);
  aaren::TwinQ a(3, 1, 4), b(3, 1, 4);
  std::vector<torch::Tensor> before;
  for (const auto& t : b->parameters()) before.push_back(t.clone());
  aaren::polyak_update(*b, *a, 0.25);
  auto ap = a->parameters(), bp = b->parameters();
  for (size_t i = 0; i < bp.size(); ++i) CHECK(max_abs_diff(bp[i], 0.25 * ap[i] + 0.75 * before[i]) < 1e-7);
  aaren::polyak_update(*b, *a, 1.0);
  for (size_t i = 0; i < bp.size(); ++i) CHECK(max_abs_diff(bp[i], ap[i]) == 0.0);
}

TEST_CASE("sac: entropy tuning raises alpha when entropy is too low and lowers it when too high", "[sac]") {
  const double target = -3.0;               // -act_dim
  for (double logp_value : {5.0, -10.0}) {  // entropy -5 (< -3) or 10 (> -3)
    auto log_alpha = torch::zeros({1}, torch::requires_grad());
    torch::optim::Adam opt({log_alpha}, torch::optim::AdamOptions(0.1));
    const auto logp = torch::full({32}, logp_value);
    for (int i = 0; i < 20; ++i) {
      opt.zero_grad();
      aaren::alpha_loss(log_alpha, logp, target).backward();
      opt.step();
    }
    INFO("log pi = " << logp_value);
    if (logp_value > -target)
      CHECK(log_alpha.item<float>() > 1.0f);
    else
      CHECK(log_alpha.item<float>() < -1.0f);
  }
}

TEST_CASE("sac: a short run updates its networks, logs, checkpoints, dumps a replay file that replays exactly",
          "[sac]") {
  auto run = [](const std::string& dir) {
    aaren::SacConfig c;
    c.env = "hopper";
    c.steps = 600;
    c.learning_starts = 200;
    c.batch_size = 32;
    c.hidden = 32;
    c.eval_every = 300;
    c.eval_episodes = 2;
    c.checkpoint_steps = {100, 400};
    c.seed = 5;
    c.out_dir = dir;
    c.dump_replay = dir + "/replay.hdf5";
    return aaren::train_sac(c);
  };
  const auto dir = aaren::testing::temp_dir("sac");
  const auto a = run(dir + "/a"), b = run(dir + "/b");
  REQUIRE(a.eval_returns.size() == 2);
  CHECK(a.eval_returns == b.eval_returns);  // same seed, same numbers (CPU)
  CHECK(std::filesystem::exists(dir + "/a/log.csv"));
  CHECK(std::filesystem::exists(dir + "/a/policy_step400.pt"));
  const auto p = aaren::load_policy(dir + "/a/policy_final.pt");
  CHECK(p.env == "Hopper-v3");
  CHECK(p.obs_dim == 11);
  CHECK(p.step == 600);
  // The actor learned between the checkpoint at step 400 and the end (updates start at step 200).
  const auto mid = aaren::load_policy(dir + "/a/policy_step400.pt");
  // Each file names the evaluation it carries: the final policy's own (step 600), the one saved at step 400
  // the run's latest before it, of the policy at step 300.
  CHECK((p.eval_step == 600 && p.eval_return == a.eval_returns.back()));
  CHECK((mid.eval_step == 300 && mid.eval_return == a.eval_returns.front()));
  CHECK(aaren::describe_evaluation(p).rfind("evaluation return ", 0) == 0);
  CHECK_THAT(aaren::describe_evaluation(mid), Catch::StartsWith("not evaluated itself") && Catch::Contains("step 300"));
  const auto early = aaren::load_policy(dir + "/a/policy_step100.pt");  // before the first evaluation: none claimed
  CHECK((early.eval_step == aaren::PolicyCheckpoint::kNoEvaluation &&
         aaren::describe_evaluation(early).find("return") == std::string::npos));
  // A file written before the step was recorded (the committed medium policy) says so.
  const auto old = aaren::load_policy(AAREN_SOURCE_DIR "/data/matched/sac-hopper-seed1-medium.pt");
  CHECK((old.eval_step == aaren::PolicyCheckpoint::kNotRecorded &&
         aaren::describe_evaluation(old).find("at a step not recorded") != std::string::npos));
  auto pm = mid.actor->named_parameters(), pf = p.actor->named_parameters();
  double moved = 0;
  for (auto& w : pf) moved = std::max(moved, (w.value() - pm[w.key()]).abs().max().item<double>());
  CHECK(moved > 1e-4);
  // The replay file: every one of the 600 env steps, in the D4RL layout, with the env's sizes.
  const auto replay = aaren::data::read_dataset(dir + "/a/replay.hdf5");
  CHECK(replay.size == 600);
  CHECK(replay.obs_dim == 11);
  CHECK(replay.act_dim == 3);
  for (float a : replay.actions) CHECK(std::abs(a) <= 1.0f);
  // Its actions alone, played in an env seeded as the run's (collect --actions), give the same episodes:
  // every observation, reward and episode end, bit for bit, the random phase's (rounded to float32) too.
  aaren::CollectConfig replayed;
  replayed.env = "hopper", replayed.seed = 5, replayed.actions = dir + "/a/replay.hdf5";
  replayed.out = dir + "/replayed.hdf5";
  const auto again = aaren::collect(replayed);
  REQUIRE(again.size == 600);
  CHECK(again.observations == replay.observations);
  CHECK(again.next_observations == replay.next_observations);
  CHECK(again.rewards == replay.rewards);
  CHECK(again.terminals == replay.terminals);
  CHECK(again.timeouts == replay.timeouts);
  CHECK(again.qpos == replay.qpos);
  replayed.env = "walker2d", replayed.out = dir + "/wrong.hdf5";
  CHECK_THROWS_WITH(aaren::collect(replayed), Catch::Contains("actions of width 3, but walker2d takes 6"));
  CHECK_THROWS_WITH(aaren::load_policy(dir + "/a/log.csv"), Catch::Contains("log.csv"));
  CHECK_THROWS_WITH(aaren::load_policy(dir + "/nope.pt"), Catch::Contains("no such policy file"));
}

TEST_CASE("sac: --eval-sampled evaluates with sampled actions and leaves training's random stream alone", "[sac]") {
  auto run = [](const std::string& dir, bool sampled) {
    aaren::SacConfig c;
    c.env = "hopper", c.steps = 400, c.learning_starts = 200, c.batch_size = 32, c.hidden = 32;
    c.eval_every = 200, c.eval_episodes = 3, c.seed = 9, c.out_dir = dir, c.eval_sampled = sampled;
    return aaren::train_sac(c);
  };
  const auto dir = aaren::testing::temp_dir("sac_sampled");
  const auto mean = run(dir + "/mean", false), sampled = run(dir + "/sampled", true);
  REQUIRE(sampled.eval_returns.size() == 2);
  CHECK(sampled.eval_returns != mean.eval_returns);                       // other actions, other returns
  CHECK(run(dir + "/again", true).eval_returns == sampled.eval_returns);  // seeded per evaluation
  // The same training: the evaluations' draws do not shift the networks' or the env's.
  const auto a = aaren::load_policy(dir + "/mean/policy_final.pt"),
             b = aaren::load_policy(dir + "/sampled/policy_final.pt");
  auto pa = a.actor->named_parameters(), pb = b.actor->named_parameters();
  for (auto& w : pa) CHECK(torch::equal(w.value(), pb[w.key()]));
}

// Steps of 1e30 send the critics past float's range: the run stops at the first critic loss that is not
// finite, naming the causes (before, it trained on until the env refused the actor's NaN action).
TEST_CASE("sac: a critic loss that is not finite stops the run, naming the step sizes", "[sac]") {
  aaren::SacConfig c;
  c.env = "hopper", c.steps = 600, c.learning_starts = 100, c.batch_size = 32, c.hidden = 32;
  c.eval_every = 1000, c.q_lr = 1e30, c.policy_lr = 1e30, c.out_dir = aaren::testing::temp_dir("sac_nan") + "/run";
  CHECK_THROWS_AS(aaren::train_sac(c), std::invalid_argument);
  CHECK_THROWS_WITH(aaren::train_sac(c),
                    Catch::Matches("the critics' loss at step 1\\d\\d is (NaN|inf): .*--q-lr or --policy-lr is too "
                                   "large; the run stops here, what it saved before kept"));
}

namespace {
// A short Hopper run that saves its state every 150 steps, its buffer holding 400 transitions.
aaren::SacConfig small_resumable_run(const std::string& dir, int64_t steps) {
  aaren::SacConfig c;
  c.env = "hopper";
  c.steps = steps;
  c.learning_starts = 200;
  c.batch_size = 32;
  c.hidden = 32;
  c.buffer_size = 400;  // the ring wraps before the state is saved and after
  c.eval_every = 300;
  c.eval_episodes = 2;
  c.seed = 9;
  c.out_dir = dir;
  c.dump_replay = dir + "/replay.hdf5";
  c.state_every = 150;
  return c;
}
}  // namespace

TEST_CASE("sac: a run stopped and resumed from its saved state == one never stopped", "[sac]") {
  const auto config = small_resumable_run;
  const auto dir = aaren::testing::temp_dir("sac_resume");
  const auto straight = aaren::train_sac(config(dir + "/straight", 900));
  aaren::train_sac(config(dir + "/stopped", 500));  // "killed" after step 500, state saved before it
  REQUIRE(std::filesystem::exists(dir + "/stopped/resume.pt"));
  auto resumed_config = config(dir + "/stopped", 900);
  resumed_config.resume = dir + "/stopped";
  const auto resumed = aaren::train_sac(resumed_config);
  CHECK(resumed.eval_returns == straight.eval_returns);
  CHECK(resumed.steps_done == 900);
  const auto a = aaren::load_policy(dir + "/straight/policy_final.pt");
  const auto b = aaren::load_policy(dir + "/stopped/policy_final.pt");
  auto pa = a.actor->named_parameters(), pb = b.actor->named_parameters();
  for (const auto& w : pa) CHECK(torch::equal(w.value(), pb[w.key()]));
  auto file = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  CHECK(file(dir + "/stopped/log.csv") == file(dir + "/straight/log.csv"));  // rows after the state dropped
  CHECK(file(dir + "/stopped/eval.csv") == file(dir + "/straight/eval.csv"));
  const auto ra = aaren::data::read_d4rl(dir + "/straight/replay.hdf5");
  const auto rb = aaren::data::read_d4rl(dir + "/stopped/replay.hdf5");
  CHECK(ra.observations == rb.observations);
  CHECK(ra.qpos == rb.qpos);
  CHECK(ra.timeouts == rb.timeouts);
  // A state from another configuration is refused, naming it.
  auto other = config(dir + "/stopped", 900);
  other.resume = other.out_dir, other.hidden = 16;
  CHECK_THROWS_WITH(aaren::train_sac(other), Catch::Contains("resume.pt: written by another configuration"));
  // --env-steps under --buffer-size changes the buffer's capacity: refused, saying which to give.
  auto shorter = config(dir + "/stopped", 300);
  shorter.resume = shorter.out_dir;
  CHECK_THROWS_WITH(aaren::train_sac(shorter),
                    Catch::Contains("replay buffer held 400 transitions") && Catch::Contains("keeps it at 400"));
}

// A run asked for more --env-steps on resume, while its buffer (sized by the first --env-steps,
// under --buffer-size) had not filled: the run asked for them from the start.
TEST_CASE("sac: a resume with more --env-steps than its buffer first held == a run asked for them at once", "[sac]") {
  auto config = [](const std::string& dir, int64_t steps) {
    auto c = small_resumable_run(dir, steps);
    c.buffer_size = 1000000, c.dump_replay.clear();  // the capacity is --env-steps
    return c;
  };
  const auto dir = aaren::testing::temp_dir("sac_resume_longer");
  const auto straight = aaren::train_sac(config(dir + "/straight", 900));
  aaren::train_sac(config(dir + "/first", 500));  // capacity 500; its state saved before step 500
  auto longer = config(dir + "/first", 900);
  longer.resume = longer.out_dir;
  const auto resumed = aaren::train_sac(longer);
  CHECK(resumed.steps_done == 900);
  CHECK(resumed.eval_returns == straight.eval_returns);
  CHECK(aaren::testing::text_of(dir + "/first/log.csv") == aaren::testing::text_of(dir + "/straight/log.csv"));
  const auto a = aaren::load_policy(dir + "/straight/policy_final.pt");
  const auto b = aaren::load_policy(dir + "/first/policy_final.pt");
  auto pb = b.actor->named_parameters();
  for (const auto& w : a.actor->named_parameters()) CHECK(torch::equal(w.value(), pb[w.key()]));
}

TEST_CASE("sac: a resume whose env steps differently from the run's is refused, not continued", "[sac]") {
  // The built-in Hopper as a file, then that file changed (a heavier foot) between stop and resume:
  // the stored actions rebuild another replay buffer, whose SHA-256 differs from the saved one.
  std::string xml = aaren::envs::builtin_model_xml("hopper");
  const auto dir = aaren::testing::temp_dir("sac_resume_other_env");
  const std::string model = dir + "/hopper.xml";
  std::ofstream(model) << xml;
  aaren::SacConfig c;
  c.env = "hopper";
  c.env_options.model_xml = model;
  c.steps = 400;
  c.learning_starts = 200;
  c.batch_size = 32;
  c.hidden = 32;
  c.buffer_size = 300;  // the capacity a resume to 600 steps keeps
  c.eval_every = 0;
  c.seed = 3;
  c.out_dir = dir + "/run";
  c.state_every = 100;
  aaren::train_sac(c);
  REQUIRE(std::filesystem::exists(c.out_dir + "/resume.pt"));
  const std::string from = "size=\"0.06\" friction=\"2.0\"";
  REQUIRE(xml.find(from) != std::string::npos);
  xml.replace(xml.find(from), from.size(), "size=\"0.06\" friction=\"2.0\" density=\"3000\"");
  std::ofstream(model) << xml;
  auto resumed = c;
  resumed.steps = 600;
  resumed.resume = c.out_dir;
  CHECK_THROWS_WITH(aaren::train_sac(resumed), Catch::Contains("do not give its replay buffer again") &&
                                                   Catch::Contains("--model-xml's file changed"));
}

TEST_CASE("sac: --stop-at-return ends the run at the first evaluation that reaches it", "[sac]") {
  aaren::SacConfig c;
  c.env = "hopper";
  c.steps = 10000;
  c.learning_starts = 300;
  c.batch_size = 16;
  c.hidden = 16;
  c.eval_every = 150;
  c.eval_episodes = 1;
  c.seed = 2;
  const auto dir = aaren::testing::temp_dir("sac_stop");
  c.out_dir = dir + "/stop";
  c.stop_at_return = -1e9;  // any evaluation reaches it
  const auto stopped = aaren::train_sac(c);
  CHECK(stopped.stopped_early);
  CHECK(stopped.steps_done == 150);
  CHECK(stopped.eval_returns.size() == 1);
  CHECK(aaren::load_policy(c.out_dir + "/policy_final.pt").step == 150);

  c.steps = 300;
  c.out_dir = dir + "/never";
  c.stop_at_return = 1e9;  // unreachable: all steps run
  const auto full = aaren::train_sac(c);
  CHECK_FALSE(full.stopped_early);
  CHECK(full.steps_done == 300);
  CHECK(full.eval_returns.size() == 2);
}
