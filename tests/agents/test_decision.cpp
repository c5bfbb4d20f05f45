// The decision agent: parity of acting and training computations, overfitting,
// checkpoints and resumption.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <tuple>
#include <vector>

#include "agents/acting/acting.h"
#include "agents/acting/lean_export.h"
#include "agents/checkpoint/checkpoint.h"
#include "agents/training/decision_trainer.h"
#include "agents/training/eval_log.h"
#include "agents/training/training_run.h"
#include "data/hdf5_io.h"
#include "envs/vector_env.h"
#include "tests/agents/decision_test_support.h"
#include "tests/agents/scan_test_support.h"
#include "tests/apps/run_aaren.h"
#include "tests/data/fixtures.h"

using aaren::testing::max_abs_diff;

namespace {

aaren::DecisionPolicy small_policy(const std::string& kind, int64_t context = 20,
                                   const std::string& tokens = "interleaved", double recency = 0) {
  aaren::DecisionConfig c;
  c.state_dim = 11, c.act_dim = 3, c.context = context;
  aaren::testing::set_token_layout(c, tokens);
  c.backbone.kind = aaren::testing::backbone_kind(kind);
  c.backbone.recency = recency;
  c.backbone.d_model = 32, c.backbone.n_layers = 2, c.backbone.n_heads = 2;
  aaren::DecisionPolicy p(c);
  p->eval();
  return p;
}

aaren::StateNormalizer unit_normalizer() { return {torch::zeros({11}), torch::ones({11})}; }

// Acts for one hopper episode (at most max_steps) through the batch policy
// and returns what it saw and did: normalised states, actions, scaled
// returns-to-go, timesteps.
struct Episode {
  torch::Tensor states, actions, rtg, timesteps;
};
Episode act_episode(aaren::DecisionPolicy model, aaren::ActMode mode, int64_t max_steps) {
  const double scale = 1000, target = 3600;
  aaren::envs::VectorEnv venv("hopper", 1, {}, 9);
  aaren::DecisionBatchPolicy policy(model, unit_normalizer(), scale, target, mode, 1);
  venv.reset();
  policy.begin_episode(0);
  std::vector<double> actions(3);
  std::vector<torch::Tensor> s, a;
  std::vector<float> rtg;
  double returns = 0;
  for (int64_t t = 0; t < max_steps; ++t) {
    const auto& obs = venv.observations();
    s.push_back(torch::tensor(std::vector<float>(obs.begin(), obs.end())));
    rtg.push_back(static_cast<float>((target - returns) / scale));
    policy.act(venv, actions);
    a.push_back(torch::tensor(std::vector<float>(actions.begin(), actions.end())));
    venv.step(actions.data());
    policy.observe(venv);
    returns += venv.rewards()[0];
    if (venv.dones()[0]) break;
  }
  const int64_t T = static_cast<int64_t>(s.size());
  return {torch::stack(s).unsqueeze(0), torch::stack(a).unsqueeze(0), torch::tensor(rtg).unsqueeze(0),
          torch::arange(T, torch::kInt64).unsqueeze(0)};
}

}  // namespace

TEST_CASE("decision: a recurrent backbone's rollout actions == the parallel forward on the same episode (Aaren, LSTM)",
          "[decision]") {
  for (const auto& [kind, recency] :
       std::vector<std::pair<std::string, double>>{{"aaren", 0.0}, {"aaren", 0.3}, {"lstm", 0.0}})
    for (std::string tokens : {"interleaved", "fused", "fused-sum"}) {
      {  // with a recency bias the positions (env steps) must match too
        INFO(kind << ", " << tokens << ", recency " << recency);
        torch::manual_seed(41);
        auto model = small_policy(kind, 20, tokens, recency);
        const auto e = act_episode(model, aaren::ActMode::kRecurrent, 60);
        const int64_t T = e.states.size(1);
        REQUIRE(T > 5);
        torch::NoGradGuard no_grad;
        const auto parallel = model->forward(e.states, e.actions, e.rtg, e.timesteps);
        CHECK(max_abs_diff(parallel, e.actions) < 1e-4);
        // In two chunks with the state (and, fused, the last action) carried, as training feeds episodes.
        auto state = model->initial_state(1);
        const int64_t k = T / 2;
        const auto first = model->forward(e.states.narrow(1, 0, k), e.actions.narrow(1, 0, k), e.rtg.narrow(1, 0, k),
                                          e.timesteps.narrow(1, 0, k), {}, &state);
        const auto second =
            model->forward(e.states.narrow(1, k, T - k), e.actions.narrow(1, k, T - k), e.rtg.narrow(1, k, T - k),
                           e.timesteps.narrow(1, k, T - k), {}, &state, e.actions.select(1, k - 1));
        CHECK(max_abs_diff(torch::cat({first, second}, 1), parallel) < 1e-5);
      }
    }
}

TEST_CASE("decision: the fused layout updates the recurrent state once per env step", "[decision]") {
  torch::manual_seed(43);
  for (std::string tokens : {"interleaved", "fused"}) {
    auto model = small_policy("aaren", 20, tokens);
    aaren::envs::VectorEnv venv("hopper", 1, {}, 9);
    aaren::DecisionBatchPolicy policy(model, unit_normalizer(), 1000, 3600, aaren::ActMode::kRecurrent, 1);
    venv.reset();
    policy.begin_episode(0);
    std::vector<double> actions(3);
    int64_t acts = 0;
    for (int64_t t = 0; t < 10; ++t) {
      policy.act(venv, actions);
      ++acts;
      venv.step(actions.data());
      policy.observe(venv);
      if (venv.dones()[0]) break;
    }
    INFO(tokens << ", " << acts << " env steps");
    CHECK(policy.tokens_seen() == (tokens == "fused" ? acts : 3 * acts));  // backbone updates per sequence
  }
}

TEST_CASE("decision: the Transformer's KV-cache and window actions == the full causal forward", "[decision]") {
  for (std::string tokens : {"interleaved", "fused", "fused-sum"}) {
    INFO(tokens);
    torch::manual_seed(42);
    auto model = small_policy("transformer", /*context=*/64, tokens);  // the window covers the whole episode
    const auto kv = act_episode(model, aaren::ActMode::kKVCache, 60);
    const auto win = act_episode(model, aaren::ActMode::kWindow, 60);
    torch::NoGradGuard no_grad;
    const auto parallel = model->forward(kv.states, kv.actions, kv.rtg, kv.timesteps);
    CHECK(max_abs_diff(parallel, kv.actions) < 1e-4);
    REQUIRE(win.actions.sizes() == kv.actions.sizes());
    CHECK(max_abs_diff(win.actions, kv.actions) < 1e-4);
    // A short window sees only the last K steps: it matches the forward on them.
    auto short_model = small_policy("transformer", /*context=*/5, tokens);
    {
      torch::NoGradGuard g;
      auto src = model->named_parameters();
      for (auto& p : short_model->named_parameters()) p.value().copy_(src[p.key()]);
    }
    const auto w5 = act_episode(short_model, aaren::ActMode::kWindow, 30);
    const int64_t T = w5.states.size(1);
    REQUIRE(T > 5);
    const auto last = short_model->forward(w5.states.narrow(1, T - 5, 5), w5.actions.narrow(1, T - 5, 5),
                                           w5.rtg.narrow(1, T - 5, 5), w5.timesteps.narrow(1, T - 5, 5));
    CHECK(max_abs_diff(last.select(1, 4), w5.actions.select(1, T - 1)) < 1e-4);
  }
}

namespace {
// A tiny hopper-shaped dataset: 3 episodes of 12 steps, random states and actions.
std::string tiny_dataset(const std::string& dir) {
  aaren::data::Transitions t;
  t.obs_dim = 11, t.act_dim = 3;
  torch::manual_seed(7);
  const auto obs = torch::randn({36, 11}), act = torch::rand({36, 3}) * 1.6 - 0.8;
  t.size = 36;
  t.observations.assign(obs.data_ptr<float>(), obs.data_ptr<float>() + obs.numel());
  t.actions.assign(act.data_ptr<float>(), act.data_ptr<float>() + act.numel());
  for (int i = 0; i < 36; ++i) {
    t.rewards.push_back(1.0f + 0.1f * (i % 7));
    t.terminals.push_back(i % 12 == 11);
    t.timeouts.push_back(0);
  }
  t.has_timeouts = true;
  t.metadata["env_name"] = "hopper";
  const auto path = dir + "/tiny.hdf5";
  aaren::data::write_d4rl(path, t);
  return path;
}

aaren::TrainConfig tiny_config(const std::string& dataset, const std::string& out, const std::string& kind) {
  aaren::TrainConfig c;
  c.dataset = dataset, c.out_dir = out, c.backbone = aaren::testing::backbone_kind(kind);
  c.embed_dim = 32, c.n_layers = 2, c.n_heads = 1, c.dropout = 0.0;
  c.context = 12, c.batch_size = 8, c.aaren_batch = 3, c.chunk_steps = 5;
  c.lr = 3e-3, c.warmup = 10, c.updates = 300, c.eval_episodes = 1, c.threads = 1, c.seed = 3;
  c.eval_every = 1000000;  // only the final evaluation (evaluations during training: tests/apps/test_train_cli.cpp)
  return c;
}
}  // namespace

// Catches the trainer not carrying Aaren's scan state, or (fused layout) the
// previous action, across chunk boundaries: the loss of whole episodes in
// chunks of 5 steps must equal the loss of one pass over them (the forward
// pass is the same function; only the gradients are cut at the boundaries).
TEST_CASE("decision: the loss in chunks with the state carried == one pass over whole episodes (Aaren, LSTM)",
          "[decision]") {
  const auto dir = aaren::testing::temp_dir("chunks");
  const auto data = tiny_dataset(dir);
  for (const std::string kind : {"aaren", "lstm"})
    for (const std::string layout : {"interleaved", "fused"}) {
      INFO(kind << " " << layout);
      double loss[2];
      for (int k = 0; k < 2; ++k) {
        auto c = tiny_config(data, dir + "/" + kind + layout + std::to_string(k), kind);
        c.tokens = aaren::testing::token_layout(layout);
        c.updates = 1, c.chunk_steps = k == 0 ? 5 : 100000;
        loss[k] = aaren::train_decision(c).final_loss;
      }
      CHECK(loss[0] == Approx(loss[1]).epsilon(1e-5));
    }
}

// DT's controls: a BC agent (--condition-on-return 0) acts the same whatever
// the return it is given, in training's forward pass and when acting, for
// both backbones and layouts; 10%BC (--top-fraction) trains on the best
// episodes only; the lean runtime refuses a BC agent (it conditions on R).
TEST_CASE("decision: BC and %BC controls: the return input held at 0, the best episodes kept", "[decision]") {
  const auto dir = aaren::testing::temp_dir("bc");
  const auto data = tiny_dataset(dir);
  for (const std::string kind : {"aaren", "transformer"})
    for (const std::string layout : {"interleaved", "fused"})
      for (const bool conditioned : {true, false}) {
        INFO(kind << " " << layout << (conditioned ? " DT" : " BC"));
        auto c = tiny_config(data, dir + "/" + kind + layout + (conditioned ? "dt" : "bc"), kind);
        c.tokens = aaren::testing::token_layout(layout), c.updates = 20, c.condition_on_return = conditioned;
        c.top_fraction = conditioned ? 1.0 : 0.5;  // 0.5 of 36 steps: the best episode alone (12 steps)
        const auto r = aaren::train_decision(c);
        CHECK(std::isfinite(r.final_loss));
        auto agent = aaren::load_checkpoint(c.out_dir + "/checkpoint.pt");
        CHECK(agent.config.condition_on_return == conditioned);
        torch::NoGradGuard no_grad;
        agent.model->eval();
        const auto states = torch::randn({2, 4, 11}), actions = torch::rand({2, 4, 3}) - 0.5;
        const auto time = torch::arange(4).unsqueeze(0).expand({2, 4});
        const auto low = agent.model->forward(states, actions, torch::full({2, 4}, 0.1), time);
        const auto high = agent.model->forward(states, actions, torch::full({2, 4}, 3.6), time);
        CHECK((max_abs_diff(low, high) == 0.0) == !conditioned);
        if (kind == "aaren" && layout == "interleaved" && conditioned) CHECK_NOTHROW(aaren::to_policy_file(agent));
        if (kind == "aaren" && layout == "interleaved" && !conditioned)
          CHECK_THROWS_WITH(aaren::to_policy_file(agent), Catch::Contains("a BC control acts with --runtime torch"));
      }
  // %BC's data: returns by episode (12, 12 and 12 steps) and which are kept.
  aaren::data::EpisodeSplit split;
  for (const double ret : {5.0, 9.0, 1.0}) split.episodes.push_back({0, 12, true, false, ret});
  const auto half = aaren::data::top_episodes(split, 0.7);  // budget 25 steps: the two best
  REQUIRE(half.episodes.size() == 2);
  CHECK(half.episodes[0].episode_return == 5.0);  // in their original order
  CHECK(half.episodes[1].episode_return == 9.0);
  CHECK(aaren::data::top_episodes(split, 0.01).episodes.size() == 1);  // at least the best one
  CHECK(aaren::data::top_episodes(split, 0.01).episodes[0].episode_return == 9.0);
  CHECK(aaren::data::top_episodes(split, 1.0).episodes.size() == 3);
}

TEST_CASE("decision: the agent overfits a tiny dataset (every backbone)", "[decision]") {
  const auto dir = aaren::testing::temp_dir("overfit");
  const auto data = tiny_dataset(dir);
  for (const auto& d : aaren::backbone_descriptors()) {
    const std::string kind = d.name;
    const auto r = aaren::train_decision(tiny_config(data, dir + "/" + kind, kind));
    INFO(kind << " final loss " << r.final_loss);
    CHECK(r.final_loss < 0.01);  // actions are uniform in [-0.8, 0.8]: variance 0.21
  }
}

// A step size of 1e30 sends the weights past float's range at the first step: the run must stop at
// the update whose loss is not finite, naming the data and the step size, with nothing of the
// poisoned model written (before, it trained on, and its evaluation failed with "action[0] is NaN").
// (Data too large for float arithmetic, the other cause, are refused by the reader: tests/data.)
TEST_CASE("decision: a loss that is not finite stops the run at that update, its checkpoints before kept",
          "[decision]") {
  const auto dir = aaren::testing::temp_dir("nan_loss");
  const auto data = tiny_dataset(dir);
  for (const auto& d : aaren::backbone_descriptors()) {
    const std::string kind = d.name;
    auto c = tiny_config(data, dir + "/" + kind, kind);
    c.lr = 1e30, c.warmup = 0, c.checkpoint_every = 1, c.updates = 50;
    INFO(kind);
    std::string message;
    try {
      aaren::train_decision(c);
    } catch (const std::invalid_argument& e) {  // bad input: aaren train exits 2
      message = e.what();
    }
    INFO(message);
    const std::regex stop(R"(^(the loss|the gradient's norm) at update (\d+) is (NaN|inf)[ :].*)");
    std::smatch m;
    REQUIRE(std::regex_match(message, m, stop));
    const int64_t update = std::stoll(m[2]);
    REQUIRE(update >= 2);  // the first step's loss and gradient are the initial model's: finite
    CHECK(message.find(": the data (" + data + ") hold values too large for float training, or --lr is too large") !=
          std::string::npos);
    const auto last = c.out_dir + "/checkpoint_" + std::to_string(update - 1) + ".pt";
    CHECK(message.find("its last checkpoint, " + last + ", holds update " + std::to_string(update - 1)) !=
          std::string::npos);
    CHECK(aaren::load_checkpoint(last).update == update - 1);  // finite: it loads
    CHECK_FALSE(std::filesystem::exists(c.out_dir + "/checkpoint.pt"));
    CHECK_FALSE(std::filesystem::exists(c.out_dir + "/checkpoint_" + std::to_string(update) + ".pt"));
    CHECK(aaren::testing::read_lines(c.out_dir + "/train_log.csv").size() == static_cast<size_t>(update));
    // Resumed from that checkpoint, it stops at the same update, and says the resume's checkpoint is kept.
    auto resumed = c;
    resumed.resume = last, resumed.out_dir = dir + "/" + kind + "_resumed";
    CHECK_THROWS_WITH(aaren::train_decision(resumed),
                      Catch::Contains("at update " + std::to_string(update) + " is") &&
                          Catch::Contains("the checkpoint it resumed from, " + last + ", holds update " +
                                          std::to_string(update - 1)));
    // A step past float's range with a finite loss and gradient: AdamW's decay multiplies each weight by
    // 1 - lr x decay = -3e38, so the timestep embedding's N(0, 1) weights above 1.13 become inf. They are
    // checked before the checkpoint at update 1, which is never written.
    auto huge = c;
    huge.lr = 3e37, huge.weight_decay = 10, huge.out_dir = dir + "/" + kind + "_huge";
    CHECK_THROWS_WITH(aaren::train_decision(huge),
                      Catch::StartsWith("the weights after update 1 are not finite: the data (") &&
                          Catch::EndsWith("no checkpoint of this run is kept"));
    CHECK_FALSE(std::filesystem::exists(huge.out_dir + "/checkpoint_1.pt"));
    huge.lr = 1e38;  // 10 x lr is not a float: refused before the run (LibTorch stopped its first step)
    CHECK_THROWS_WITH(aaren::train_decision(huge),
                      Catch::Contains("must be at most 3.4e37 (3.4e38): AdamW's first step"));
  }
}

TEST_CASE("decision: a fused token still carries the state when the target return is far above the data",
          "[decision]") {
  // How far two states' tokens lie apart, with the return-to-go in the
  // data's range (0.3) and ten to a hundred times above it. The plain sum
  // lets E_R(R) grow with R until LayerNorm squeezes the state's part to
  // nothing; the per-part LayerNorms bound the return's part instead.
  torch::manual_seed(44);
  const auto s1 = torch::randn({256, 11}), s2 = torch::randn({256, 11});
  const auto a = torch::rand({256, 3}) * 2 - 1;
  for (std::string tokens : {"fused", "fused-sum"}) {
    auto model = small_policy("aaren", 20, tokens);
    torch::NoGradGuard no_grad;
    const auto time = torch::zeros({256, 32});  // E_t(t): the same for both states
    auto spread = [&](double rtg) {
      const auto r = torch::full({256}, rtg);
      return (model->fused_tokens(r, s1, a, time) - model->fused_tokens(r, s2, a, time))
          .norm(2, -1)
          .mean()
          .item<double>();
    };
    const double in_range = spread(0.3);
    for (double far : {3.6, 30.0}) {
      INFO(tokens << ": state spread " << spread(far) << " at R = " << far << ", " << in_range << " at R = 0.3");
      if (tokens == "fused")
        CHECK(spread(far) > 0.5 * in_range);
      else
        CHECK(spread(far) < 0.5 * in_range);  // the failure the per-part LayerNorms remove
    }
  }
}

TEST_CASE("decision: the fused layout's per-part LayerNorms are stored in the checkpoint's config", "[decision]") {
  const auto dir = aaren::testing::temp_dir("fusednorm");
  const auto data = tiny_dataset(dir);
  for (bool norm : {true, false}) {
    auto c = tiny_config(data, dir + "/run_" + std::to_string(norm), "aaren");
    c.tokens = aaren::TokenLayout::kFused, c.fused_norm = norm, c.updates = 2;
    const auto loaded = aaren::load_checkpoint(aaren::train_decision(c).checkpoint);
    INFO("fused_norm " << norm);
    CHECK(loaded.config.fused_norm == norm);
    CHECK(loaded.model->config().fused_norm == norm);
    CHECK(loaded.model->named_parameters().contains("norm_state.weight") == norm);
  }
  // A config written before the option existed: the plain sum those checkpoints were trained with.
  auto j = aaren::TrainConfig().to_json();
  j.erase("fused_norm");
  CHECK_FALSE(aaren::TrainConfig::from_json(j).fused_norm);
  CHECK(aaren::TrainConfig().fused_norm);  // new runs normalise
}

TEST_CASE("decision: checkpoint round trip, resume == uninterrupted, bad checkpoints are refused", "[decision]") {
  const auto dir = aaren::testing::temp_dir("ckpt");
  const auto data = tiny_dataset(dir);
  // aaren-windows: DT's windows, a recency bias and the cosine schedule (other sampler, other state).
  // aaren-fused: one token per step, the previous action carried across chunks and into the resumed run.
  // lstm, lstm-windows: Decision LSTM on whole episodes (its (h, c) carried across chunks) and on DT's windows.
  for (std::string variant : {"aaren", "transformer", "aaren-windows", "aaren-fused", "lstm", "lstm-windows"}) {
    const std::string kind = variant.substr(0, variant.find('-'));
    auto c = tiny_config(data, dir + "/straight_" + variant, kind);
    c.updates = 8;
    c.dropout = 0.1;  // the generator state must be restored too
    const bool windows = variant == "aaren-windows" || variant == "lstm-windows";
    if (variant == "aaren-fused") c.tokens = aaren::TokenLayout::kFused;
    if (windows)
      c.aaren_sampling = aaren::AarenSampling::kWindows, c.lr_schedule = aaren::LrSchedule::kCosine, c.warmup = 2;
    if (variant == "aaren-windows") c.recency = 0.2;
    c.checkpoint_every = windows ? 4 : 0;
    const auto straight = aaren::train_decision(c);
    // Resumed from a shorter run (constant lr), or, with a schedule that depends on --updates, from the
    // straight run's own checkpoint at update 4 (a run killed and continued).
    std::string half = dir + "/straight_" + variant + "/checkpoint_4.pt";
    if (!windows) {
      auto first = c;
      first.updates = 4;
      first.out_dir = dir + "/first_" + variant;
      half = aaren::train_decision(first).checkpoint;
    }
    auto second = c;
    second.out_dir = dir + "/second_" + variant;
    second.resume = half;
    const auto resumed = aaren::train_decision(second);
    const auto a = aaren::load_checkpoint(straight.checkpoint), b = aaren::load_checkpoint(resumed.checkpoint);
    INFO(variant);
    CHECK(b.update == 8);
    CHECK(b.config.aaren_sampling == c.aaren_sampling);
    CHECK(b.config.recency == c.recency);
    CHECK(b.config.lr_schedule == c.lr_schedule);
    CHECK(b.config.tokens == c.tokens);
    CHECK(b.model->named_parameters().contains("backbone.block0.mixer.recency") == (c.recency > 0));
    auto pa = a.model->named_parameters(), pb = b.model->named_parameters();
    double diff = 0;
    for (auto& p : pa) diff = std::max(diff, max_abs_diff(p.value(), pb[p.key()]));
    CHECK(diff == 0.0);
    // Round trip: the loaded agent is the saved one.
    CHECK(a.env == "Hopper-v3");
    CHECK(to_string(a.config.backbone) == kind);
    CHECK(a.normalizer.mean.numel() == 11);
  }
  // Corrupt, truncated and foreign files.
  const auto good = dir + "/straight_aaren/checkpoint.pt";
  std::ifstream in(good, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  std::ofstream(dir + "/truncated.pt", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  std::ofstream(dir + "/garbage.pt") << "this is not a checkpoint";
  CHECK_THROWS_WITH(aaren::load_checkpoint(dir + "/truncated.pt"),
                    Catch::Contains("truncated.pt: ") && Catch::Contains("(truncated or damaged)"));
  CHECK_THROWS_WITH(aaren::load_checkpoint(dir + "/garbage.pt"), Catch::Contains("garbage.pt"));
  CHECK_THROWS_WITH(aaren::load_checkpoint(dir + "/missing.pt"), Catch::Contains("no such checkpoint"));
  torch::serialize::OutputArchive other;
  other.write("x", torch::ones({1}));
  other.save_to(dir + "/other.pt");
  CHECK_THROWS_WITH(aaren::load_checkpoint(dir + "/other.pt"), Catch::Contains("not an aaren agent checkpoint"));
  // Weights or statistics that are not finite (a diverged run's, from a build that trained on).
  for (const std::string field : {"weight", "state_inv_std"}) {
    auto agent = aaren::load_checkpoint(good);
    {
      torch::NoGradGuard no_grad;
      if (field == "weight")
        agent.model->parameters().back().view(-1)[0] = std::nan("");
      else
        agent.normalizer.inv_std[0] = INFINITY;
    }
    const auto path = dir + "/diverged_" + field + ".pt";
    aaren::save_checkpoint(path, agent.model, agent.config, agent.normalizer, agent.env, agent.update);
    CHECK_THROWS_WITH(aaren::load_checkpoint(path),
                      Catch::StartsWith(path + ": " + field) && Catch::Contains("holds values that are not finite"));
  }
}

TEST_CASE("decision: a run's eval.csv reads back as the evaluations it made, a bad one is refused by name",
          "[decision]") {
  const auto dir = aaren::testing::temp_dir("eval_csv");
  const auto data = tiny_dataset(dir);
  auto c = tiny_config(data, dir + "/run", "aaren");
  c.updates = 4, c.eval_every = 2, c.eval_targets = {3600, 1800}, c.eval_episodes = 2;
  const auto result = aaren::train_decision(c);
  const auto rows = aaren::read_eval_csv(c.out_dir + "/eval.csv");
  REQUIRE(rows.size() == result.evals.size());
  CHECK(rows.size() >= 4);  // updates 2 and 4, two targets each
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& a = rows[i];
    const auto& b = result.evals[i];
    CHECK(a.update == b.update);
    CHECK(a.target == b.target);
    CHECK(a.score_mean == Approx(b.score_mean).epsilon(1e-5));
    CHECK(a.return_std == Approx(b.return_std).epsilon(1e-5));
    CHECK(a.seed == b.seed);
    CHECK(a.episodes == 2);
    CHECK(aaren::eval_csv_row(a).find(std::to_string(a.seed)) != std::string::npos);
  }
  std::ofstream(dir + "/bad.csv") << aaren::eval_csv_header() << "\n1,2,3,x,5,6,7,8\n";
  CHECK_THROWS_WITH(aaren::read_eval_csv(dir + "/bad.csv"), Catch::Contains("bad.csv: line 2: 'x' is not a number"));
  std::ofstream(dir + "/other.csv") << "update,loss\n1,2\n";
  CHECK_THROWS_WITH(aaren::read_eval_csv(dir + "/other.csv"), Catch::Contains("other.csv: not an eval.csv"));
}

// Decision LSTM as published (Siebenborn et al. 2022) trains on DT's windows and
// keeps DT's evaluation, on the last K steps: --eval-mode window. The training
// evaluation must act in that mode (not the backbone's recurrent default), and
// the checkpoint must carry it to 'aaren rollout --mode auto'.
TEST_CASE("decision: --eval-mode: evaluations act in the mode asked, a mode the backbone lacks is refused by name",
          "[decision]") {
  aaren::TrainConfig m;
  m.backbone = aaren::BackboneKind::kLstm;
  CHECK(m.evaluation_mode() == aaren::ActMode::kRecurrent);  // auto: the descriptor's first mode
  m.eval_mode = "window";
  CHECK(m.evaluation_mode() == aaren::ActMode::kWindow);
  m.backbone = aaren::BackboneKind::kTransformer, m.eval_mode = "recurrent";
  CHECK(m.evaluation_mode() == aaren::ActMode::kKVCache);  // its state-carrying mode
  m.backbone = aaren::BackboneKind::kAaren, m.eval_mode = "kvcache";
  CHECK_THROWS_WITH(m.evaluation_mode(),
                    Catch::StartsWith("--eval-mode kvcache: the aaren backbone acts in recurrent"));
  m.eval_mode = "sideways";
  CHECK_THROWS_WITH(m.evaluation_mode(), Catch::Contains("--eval-mode must be auto, recurrent, window or kvcache"));
  m.dataset = "d.hdf5", m.out_dir = "out";
  CHECK_THROWS_WITH(m.validate(), Catch::Contains("--eval-mode must be"));  // refused before any work
  // A config.json or checkpoint written before the setting existed evaluates as it did: auto.
  auto old = m.to_json();
  old.erase("eval_mode");
  CHECK(aaren::TrainConfig::from_json(old).eval_mode == "auto");

  const auto dir = aaren::testing::temp_dir("eval_mode");
  const auto data = tiny_dataset(dir);
  auto c = tiny_config(data, dir + "/run", "lstm");
  c.aaren_sampling = aaren::AarenSampling::kWindows, c.eval_mode = "window", c.context = 2;
  c.updates = 2, c.eval_targets = {3600}, c.eval_episodes = 2;
  const auto result = aaren::train_decision(c);
  REQUIRE(result.evals.size() == 1);
  const auto agent = aaren::load_checkpoint(result.checkpoint);
  CHECK(agent.config.eval_mode == "window");
  CHECK(agent.config.evaluation_mode() == aaren::ActMode::kWindow);  // what rollout --mode auto acts in
  const auto& e = result.evals[0];
  auto mean_return = [&](aaren::ActMode mode) {
    const auto r = aaren::evaluate_agent(agent, 3600, mode, 2, e.seed).returns();
    return (r[0] + r[1]) / 2;
  };
  CHECK(e.return_mean == Approx(mean_return(aaren::ActMode::kWindow)).epsilon(1e-6));
  // A window of 2 steps forgets what the recurrent state keeps: the two modes act differently.
  CHECK(e.return_mean != Approx(mean_return(aaren::ActMode::kRecurrent)).epsilon(1e-6));
  // The lean runtime acts recurrently only: --mode auto there means recurrent, not the run's window.
  // Its return over the evaluation's episodes is the recurrent mode's (to float tolerance), not the window's.
  const auto lean = aaren::testing::run_shell(std::string(AAREN_BINARY) + " rollout --checkpoint " + result.checkpoint +
                                              " --runtime lean --target-return 3600 --episodes 2 --json --seed " +
                                              std::to_string(e.seed) + " 2>/dev/null");
  INFO(lean.output);
  REQUIRE(lean.exit_code == 0);
  const double lean_mean = nlohmann::json::parse(lean.output).at("return_mean").get<double>();
  CHECK(lean_mean == Approx(mean_return(aaren::ActMode::kRecurrent)).epsilon(1e-4));
  CHECK(lean_mean != Approx(e.return_mean).epsilon(1e-4));
}

namespace {
// A 4-update Aaren run on the tiny dataset in `dir`, its env and target left for the data to decide
// (hopper, DT's 3600).
aaren::TrainConfig config_resolved_from_data(const std::string& dir, const std::string& out) {
  auto c = tiny_config(tiny_dataset(dir), out, "aaren");
  c.updates = 4, c.checkpoint_every = 2;
  c.env.clear(), c.target_return = 0;
  return c;
}
}  // namespace

TEST_CASE("decision: a run's config.json is the resolved config it ran with, on resume too", "[decision]") {
  const auto dir = aaren::testing::temp_dir("resolved");
  const auto c = config_resolved_from_data(dir, dir + "/first");
  const auto& data = c.dataset;
  auto read_json = [](const std::string& path) {
    std::ifstream in(path);
    return nlohmann::json::parse(in);
  };
  aaren::train_decision(c);
  const auto first = read_json(c.out_dir + "/config.json");
  CHECK(first == aaren::load_checkpoint(c.out_dir + "/checkpoint.pt").config.to_json());
  CHECK(first.at("env") == "Hopper-v3");
  CHECK(first.at("target_return") == 3600.0);
  // Resumed with a new length and evaluation; the model, data and optimiser settings are the stored run's.
  auto more = aaren::TrainConfig();
  more.resume = c.out_dir + "/checkpoint_2.pt", more.out_dir = dir + "/more";
  more.updates = 6, more.eval_episodes = 2, more.threads = 1;
  aaren::DecisionTrainer resumed(more, {"resume", "out", "updates", "eval-episodes", "threads"});
  CHECK(resumed.start_update() == 2);
  resumed.run();
  const auto ran = read_json(more.out_dir + "/config.json");
  CHECK(ran == aaren::load_checkpoint(more.out_dir + "/checkpoint.pt").config.to_json());
  CHECK(ran.at("lr") == c.lr);  // not TrainConfig's default
  CHECK(ran.at("warmup") == c.warmup);
  CHECK(ran.at("embed_dim") == c.embed_dim);
  CHECK(ran.at("dataset") == data);
  CHECK(ran.at("updates") == 6);
  CHECK(ran.at("eval_episodes") == 2);
  CHECK_FALSE(ran.contains("resume"));  // history, not a setting: config.json's provenance.resumes records it
  // A flag the stored run keeps is refused, naming it and the value the run continues with.
  more.lr = 1e-2;
  CHECK_THROWS_WITH(aaren::DecisionTrainer(more, {"resume", "out", "lr"}),
                    Catch::Contains("--lr cannot change on --resume") && Catch::Contains("0.003"));
}

TEST_CASE("decision: a run resolves with no side effect to the config it runs with, a resume too", "[decision]") {
  const auto dir = aaren::testing::temp_dir("resolve-pure");
  const auto c = config_resolved_from_data(dir, dir + "/run");
  const auto data_size = std::filesystem::file_size(c.dataset);
  const auto data_time = std::filesystem::last_write_time(c.dataset);
  torch::manual_seed(12);
  const auto fresh_draws = torch::rand({4});
  torch::manual_seed(12);
  const auto resolved = aaren::resolve_training_run(c, {}, 1);
  CHECK(torch::equal(torch::rand({4}), fresh_draws));  // torch's generator left as it was
  CHECK_FALSE(std::filesystem::exists(c.out_dir));     // nothing written
  CHECK(std::filesystem::file_size(c.dataset) == data_size);
  CHECK(std::filesystem::last_write_time(c.dataset) == data_time);  // the data read, not touched
  CHECK(resolved.config.env == "Hopper-v3");
  CHECK(resolved.config.eval_targets == std::vector<double>{3600, 1800});
  CHECK(resolved.dataset->num_episodes() == 3);
  aaren::train_decision(c);
  std::ifstream in(c.out_dir + "/config.json");
  auto ran = nlohmann::json::parse(in);
  ran.erase("provenance");
  CHECK(ran == resolved.config.to_json());
  // A resume resolves to the stored run the trainer then continues, and reads its checkpoint once.
  aaren::TrainConfig more;
  more.resume = c.out_dir, more.out_dir = c.out_dir, more.updates = 6, more.threads = 1;
  const std::set<std::string> flags{"resume", "out", "updates", "threads"};
  torch::manual_seed(11);
  const auto draws = torch::rand({4});
  torch::manual_seed(11);
  const auto continued = aaren::resolve_training_run(more, flags, 1);
  CHECK(torch::equal(torch::rand({4}), draws));  // loading the stored model left the generator as it was
  REQUIRE(continued.resumed);
  CHECK(continued.resumed->update == 4);
  CHECK(continued.config.resume == c.out_dir + "/checkpoint.pt");
  CHECK(continued.config.lr == c.lr);
  CHECK(aaren::DecisionTrainer(more, flags).config().to_json() == continued.config.to_json());
  CHECK_THROWS_WITH(aaren::resolve_training_run(more, flags, 2), Catch::Contains("trained on 1 rank(s)"));
  more.updates = 4;
  CHECK_THROWS_WITH(aaren::resolve_training_run(more, flags, 1), Catch::Contains("not beyond the checkpoint's 4"));
}

namespace {
// Every way a decision agent acts: each backbone in each of its modes, and on a window.
std::vector<std::pair<std::string, aaren::ActMode>> acting_ways() {
  std::vector<std::pair<std::string, aaren::ActMode>> ways;
  for (const auto& d : aaren::backbone_descriptors()) {
    for (const auto mode : d.act_modes) ways.emplace_back(d.name, mode);
    if (!d.acts_in(aaren::ActMode::kWindow)) ways.emplace_back(d.name, aaren::ActMode::kWindow);
  }
  return ways;
}
const auto kActingWays = acting_ways();

// A small untrained agent for hopper, as a checkpoint would load it.
aaren::LoadedAgent small_agent(const std::string& kind) {
  aaren::LoadedAgent agent;
  agent.model = small_policy(kind), agent.normalizer = unit_normalizer(), agent.env = "hopper";
  agent.config.return_scale = 1000;
  return agent;
}
}  // namespace

TEST_CASE("decision: batched rollouts in every mode are deterministic and finite", "[decision]") {
  torch::manual_seed(43);
  for (const auto& [kind, mode] : kActingWays) {
    const auto agent = small_agent(kind);
    auto run = [&] { return aaren::evaluate_agent(agent, 3600, mode, 5, 17, 3).returns(); };
    const auto a = run(), b = run();
    INFO(kind << " " << aaren::to_string(mode));
    CHECK(a == b);
    for (double r : a) CHECK(std::isfinite(r));
  }
}

TEST_CASE("decision: a trained agent's episodes step a count of envs that divides 16 for more than 16 episodes",
          "[decision]") {
  using aaren::acting_num_envs;
  // (asked, episodes) -> stepped: no env runs two episodes that share a row of the 16-row batch.
  const std::vector<std::tuple<int64_t, int64_t, int64_t>> cases{{0, 50, 16},  {0, 10, 10},  {1, 50, 1},   {3, 50, 4},
                                                                 {3, 10, 3},   {5, 17, 8},   {12, 40, 16}, {12, 12, 12},
                                                                 {16, 40, 16}, {32, 40, 16}, {32, 20, 16}, {3, 0, 1}};
  for (const auto& [asked, episodes, stepped] : cases) {
    INFO(asked << " envs asked, " << episodes << " episodes");
    const int64_t n = acting_num_envs(asked, episodes, true);
    CHECK(n == stepped);
    if (episodes > aaren::kEvaluationRows) CHECK(aaren::kEvaluationRows % n == 0);
  }
  CHECK(acting_num_envs(3, 50) == 3);  // other policies: as asked
  CHECK(acting_num_envs(32, 50) == 32);
}

// Catches a batched policy that does not reset a slot's state (scan state, KV
// cache, window) when its env auto-resets, or that mixes slots: episode e
// starts from seed + e whatever the number of envs, so a batch of 4 envs must
// play the 10 episodes of a batch of one, episode by episode.
TEST_CASE("decision: a batch of N envs with auto-reset == one env, episode by episode", "[decision]") {
  torch::manual_seed(44);
  for (const auto& [kind, mode] : kActingWays) {
    INFO(kind << " " << aaren::to_string(mode));
    const auto agent = small_agent(kind);
    // 4 envs, 10 episodes: env k runs episodes k, k + 4 and (envs 0 and 1) k + 8, after auto-resets.
    const auto batch = aaren::evaluate_agent(agent, 3600, mode, 10, 70, 4);
    const auto single = aaren::evaluate_agent(agent, 3600, mode, 10, 70, 1);
    REQUIRE(batch.episodes.size() == 10);
    REQUIRE(single.episodes.size() == 10);
    for (int64_t e = 0; e < 10; ++e) {
      const auto& b = batch.episodes[static_cast<size_t>(e)];  // in episode order
      const auto& o = single.episodes[static_cast<size_t>(e)];
      INFO("episode " << e);
      CHECK(b.episode == e);
      CHECK(b.env_index == e % 4);
      CHECK(b.length == o.length);
      CHECK(b.episode_return == Approx(o.episode_return).epsilon(1e-6));
    }
  }
}

TEST_CASE("decision: learning-rate schedules: linear warm-up, then constant (DT) or half a cosine to 0", "[decision]") {
  aaren::TrainConfig c;
  c.lr = 1e-3, c.warmup = 10, c.updates = 110;
  CHECK(aaren::learning_rate(c, 0) == Approx(1e-4));
  CHECK(aaren::learning_rate(c, 4) == Approx(5e-4));
  CHECK(aaren::learning_rate(c, 9) == Approx(1e-3));
  CHECK(aaren::learning_rate(c, 109) == Approx(1e-3));  // DT: constant after the warm-up
  c.lr_schedule = aaren::LrSchedule::kCosine;
  CHECK(aaren::learning_rate(c, 4) == Approx(5e-4));  // the warm-up is the same
  CHECK(aaren::learning_rate(c, 10) == Approx(1e-3));
  CHECK(aaren::learning_rate(c, 60) == Approx(5e-4));                             // half-way: lr / 2
  CHECK(aaren::learning_rate(c, 35) == Approx(1e-3 * (1 + std::sqrt(0.5)) / 2));  // a quarter: cos(pi / 4)
  CHECK(aaren::learning_rate(c, 109) == Approx(1e-3 * 0.5 * (1 + std::cos(M_PI * 99 / 100))));
  for (int64_t u = 11; u < 110; ++u) CHECK(aaren::learning_rate(c, u) < aaren::learning_rate(c, u - 1));
  // An unknown schedule is refused where text becomes the enum (the flag and config.json).
  int schedule_fields = 0;
  for (const auto& f : aaren::TrainConfig::fields())
    if (f.flag == "lr-schedule") {
      ++schedule_fields;
      CHECK_THROWS_WITH(f.set_text(c, "linear"), Catch::Contains("must be constant or cosine"));
    }
  REQUIRE(schedule_fields == 1);
  auto j = c.to_json();
  j["lr_schedule"] = "linear";
  CHECK_THROWS_WITH(aaren::TrainConfig::from_json(j), Catch::Contains("lr_schedule"));
}

// A stop (SIGINT, SIGTERM) landing on an update the run evaluates at: that evaluation is made
// before the checkpoint the resume starts after (else the point would never be logged); a
// stop landing on the last update lets the run finish (a run stopped there could not be resumed).
// The progress callback runs after every 10th update; a stop asked there is read by the next.
TEST_CASE("decision: a stop on an evaluation's update keeps that evaluation, and one on the last update finishes",
          "[decision]") {
  const auto dir = aaren::testing::temp_dir("stop_at_eval");
  const auto data = tiny_dataset(dir);
  const auto stop_at_11 = [](const aaren::TrainProgress& p) {
    if (p.update == 10) aaren::request_training_stop(SIGTERM);
  };
  const auto updates_of = [](const std::string& run) {
    std::multiset<int64_t> updates;
    for (const auto& e : aaren::read_eval_csv(run + "/eval.csv")) updates.insert(e.update);
    return updates;
  };
  auto c = tiny_config(data, dir + "/run", "transformer");
  c.updates = 22, c.eval_every = 11, c.checkpoint_every = 0, c.eval_targets = {3600, 1800};
  const auto targets = c.eval_targets.size();
  CHECK(aaren::train_decision(c, stop_at_11).stop_signal == SIGTERM);
  CHECK(aaren::load_checkpoint(c.out_dir + "/checkpoint_11.pt").update == 11);
  CHECK(aaren::testing::read_lines(c.out_dir + "/train_log.csv").back().rfind("11,", 0) ==
        0);                                           // the log ends where it stopped
  CHECK(updates_of(c.out_dir).count(11) == targets);  // the point at 11, before the checkpoint
  auto resumed = c;
  resumed.resume = c.out_dir;
  CHECK(aaren::train_decision(resumed).stop_signal == 0);
  const auto after = updates_of(c.out_dir);
  CHECK(after.count(11) == targets);  // once each, at 11 and at the end
  CHECK(after.count(22) == targets);
  // The same records as a run never stopped: its evaluations, updates and losses.
  auto straight = c;
  straight.out_dir = dir + "/straight";
  REQUIRE(aaren::train_decision(straight).stop_signal == 0);
  CHECK(aaren::testing::read_lines(c.out_dir + "/eval.csv") ==
        aaren::testing::read_lines(straight.out_dir + "/eval.csv"));
  const auto updates_and_losses = [](const std::string& run) {
    std::vector<std::string> rows;
    for (const auto& line : aaren::testing::read_lines(run + "/train_log.csv"))
      rows.push_back(line.substr(0, line.find(',', line.find(',') + 1)));
    return rows;
  };
  CHECK(updates_and_losses(c.out_dir) == updates_and_losses(straight.out_dir));
  // A stop on the last update: the run ends as it would have, with no checkpoint_11.pt.
  auto last = tiny_config(data, dir + "/last", "transformer");
  last.updates = 11, last.checkpoint_every = 0, last.eval_targets = c.eval_targets;
  const auto finished = aaren::train_decision(last, stop_at_11);
  CHECK(finished.stop_signal == 0);
  CHECK(std::filesystem::exists(last.out_dir + "/checkpoint.pt"));
  CHECK_FALSE(std::filesystem::exists(last.out_dir + "/checkpoint_11.pt"));
  CHECK(updates_of(last.out_dir).count(11) == targets);
  // A signal after the last update's check (here at its progress line, as during the final evaluation)
  // is not left for the next run in this process.
  auto late = tiny_config(data, dir + "/late", "transformer");
  late.updates = 11;
  CHECK(aaren::train_decision(late, [](const aaren::TrainProgress& p) {
          if (p.update == 11) aaren::request_training_stop(SIGTERM);
        }).stop_signal == 0);
  auto next = tiny_config(data, dir + "/next", "transformer");
  next.updates = 3;
  CHECK(aaren::train_decision(next).stop_signal == 0);
}
