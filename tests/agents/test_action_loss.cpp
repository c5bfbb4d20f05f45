// aaren loss's measurement (agents/training/action_loss.h) against a plain
// reference: every episode alone, in one pass, summed by hand; windows drawn
// as training draws them, with dropout off (the same number twice).
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include "agents/training/action_loss.h"
#include "tests/agents/decision_test_support.h"

namespace {

using aaren::data::TrajectoryDataset;

// Episodes of these lengths with random states and actions in [-1, 1].
aaren::data::Transitions random_episodes(const std::vector<int64_t>& lengths) {
  aaren::data::Transitions t;
  t.obs_dim = 11, t.act_dim = 3;
  torch::manual_seed(5);
  for (const auto len : lengths)
    for (int64_t k = 0; k < len; ++k) {
      const auto s = torch::randn({11}), a = torch::rand({3}) * 2 - 1;
      t.observations.insert(t.observations.end(), s.data_ptr<float>(), s.data_ptr<float>() + 11);
      t.actions.insert(t.actions.end(), a.data_ptr<float>(), a.data_ptr<float>() + 3);
      t.rewards.push_back(torch::rand({1}).item<float>());
      t.terminals.push_back(0);
      t.timeouts.push_back(k == len - 1);
      ++t.size;
    }
  t.has_timeouts = true;
  return t;
}

aaren::LoadedAgent agent_for(const std::string& kind, const std::string& layout, double dropout) {
  auto config = aaren::testing::small_decision_config(kind);
  aaren::testing::set_token_layout(config, layout);
  config.backbone.dropout = dropout;
  torch::manual_seed(9);
  aaren::LoadedAgent agent;
  agent.model = aaren::DecisionPolicy(config);
  agent.config.backbone = config.backbone.kind;
  agent.config.aaren_batch = 3, agent.config.chunk_steps = 7;  // batches and chunks that split the episodes
  agent.config.batch_size = 5, agent.config.context = 6;
  agent.config.max_ep_len = config.max_ep_len;
  return agent;
}

}  // namespace

TEST_CASE("action loss on whole episodes == each episode alone in one pass, summed by hand", "[decision]") {
  const auto t = random_episodes({9, 15, 4, 20, 11});
  const TrajectoryDataset d(t, aaren::data::split_episodes(t));
  for (const std::string layout : {"interleaved", "fused"}) {
    INFO(layout);
    const auto agent = agent_for("aaren", layout, 0.0);
    const auto got = aaren::action_loss(agent, d, 1, 0);
    CHECK(got.regime == "episodes");
    CHECK(got.batches == 2);  // 5 episodes, 3 at a time
    CHECK(got.steps == 59);
    torch::NoGradGuard no_grad;
    aaren::DecisionPolicy model = agent.model;  // (dropout 0: train mode computes what eval mode does)
    double sse = 0;
    aaren::data::BatchOptions options;
    options.max_timestep = agent.config.max_ep_len;
    const aaren::data::EpisodeSampler sampler(d, options, 0);
    for (int64_t e = 0; e < d.num_episodes(); ++e) {
      const auto b = sampler.episodes({e});
      const auto pred = model->forward(b.states, b.actions, b.returns_to_go, b.timesteps);
      sse += (pred - b.actions).pow(2).sum().item<double>();
    }
    CHECK(got.mse == Approx(sse / (59 * 3)).epsilon(1e-5));
    CHECK(got.std_error > 0);
  }
}

TEST_CASE("action loss on DT's windows: dropout off, the seed's windows, the data's dims checked", "[decision]") {
  const auto t = random_episodes({9, 15, 4, 20, 11});
  const TrajectoryDataset d(t, aaren::data::split_episodes(t));
  const auto agent = agent_for("transformer", "interleaved", 0.5);
  REQUIRE(agent.model->is_training());
  const auto a = aaren::action_loss(agent, d, 4, 7), b = aaren::action_loss(agent, d, 4, 7);
  CHECK(a.regime == "windows");
  CHECK(a.batches == 4);
  CHECK(a.mse == b.mse);  // dropout 0.5 would differ between the two
  {                       // one batch by hand: the agent's batch size and context, the seed's windows, dropout off
    torch::NoGradGuard no_grad;
    aaren::data::BatchOptions options;
    options.max_timestep = agent.config.max_ep_len;
    const auto w = aaren::data::WindowSampler(d, 6, options, 7).sample(5);
    aaren::DecisionPolicy model = agent.model;
    model->eval();
    const auto pred = model->forward(w.states, w.actions, w.returns_to_go, w.timesteps, w.mask);
    const double sse = ((pred - w.actions).pow(2) * w.mask.unsqueeze(-1)).sum().item<double>();
    model->train();
    const auto one = aaren::action_loss(agent, d, 1, 7);
    CHECK(one.mse == Approx(sse / (w.mask.sum().item<double>() * 3)).epsilon(1e-6));
    CHECK(one.steps == w.mask.sum().item<int64_t>());
  }
  CHECK(agent.model->is_training());                       // left as it was
  CHECK(aaren::action_loss(agent, d, 4, 8).mse != a.mse);  // other windows
  const auto other = random_episodes({6});
  auto wrong = other;
  wrong.obs_dim = 3, wrong.observations.resize(6 * 3);
  CHECK_THROWS_WITH(aaren::action_loss(agent, TrajectoryDataset(wrong, aaren::data::split_episodes(wrong)), 1, 0),
                    Catch::Contains("3 and 3 dims; the agent's 11 and 3"));
}

// Rewards of 1e30 are finite floats but overflow the return-to-go's embedding: the error is
// refused by name rather than printed as -nan with exit 0 (`aaren loss` prefixes the file).
TEST_CASE("action loss that is not finite is refused as the data's, in each regime", "[decision]") {
  auto t = random_episodes({9, 15, 4});
  for (auto& r : t.rewards) r *= 1e30f;
  const TrajectoryDataset d(t, aaren::data::split_episodes(t));
  for (const std::string kind : {"aaren", "transformer"})
    CHECK_THROWS_WITH(aaren::action_loss(agent_for(kind, "interleaved", 0.0), d, 2, 7),
                      Catch::StartsWith("the action error is NaN: the data hold values too large"));
}
