// The lean runtime against the LibTorch policy it was exported from.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "agents/decision_rollout.h"
#include "agents/lean_export.h"
#include "envs/registry.h"

namespace {

aaren::LoadedAgent random_agent(int64_t d_model, int64_t layers, int64_t heads, int64_t max_ep_len, uint64_t seed,
                                const std::string& tokens = "interleaved") {
  torch::manual_seed(seed);
  aaren::DecisionConfig dc;
  dc.state_dim = 11;
  dc.act_dim = 3;
  dc.max_ep_len = max_ep_len;
  dc.backbone.kind = "aaren";
  dc.tokens = tokens;
  dc.backbone.d_model = d_model;
  dc.backbone.n_layers = layers;
  dc.backbone.n_heads = heads;
  aaren::LoadedAgent agent;
  agent.model = aaren::DecisionPolicy(dc);
  {
    torch::NoGradGuard no_grad;  // away from the initialisation's symmetries
    for (auto& p : agent.model->parameters()) p.add_(torch::randn_like(p) * 0.1);
  }
  agent.model->eval();
  agent.normalizer = {torch::randn({11}) * 0.5, torch::rand({11}) + 0.5};
  agent.config.return_scale = 1000.0;
  agent.config.target_return = 3600.0;
  agent.env = "hopper";
  return agent;
}


}  // namespace

TEST_CASE("lean runtime: actions == the LibTorch recurrent policy's over whole episodes", "[lean]") {
  struct Case {
    int64_t d, layers, heads, max_ep_len, steps;
    std::string tokens;
  };
  // DT's size; several heads; an episode longer than the timestep table; both layouts.
  for (const auto& c : {Case{128, 3, 1, 1000, 300, "interleaved"}, Case{64, 2, 4, 50, 120, "interleaved"},
                        Case{128, 3, 1, 1000, 300, "fused"}, Case{64, 2, 4, 50, 120, "fused"}}) {
    const auto agent = random_agent(c.d, c.layers, c.heads, c.max_ep_len, 7 + c.d, c.tokens);
    aaren::DecisionBatchPolicy torch_policy(agent.model, agent.normalizer, 1000.0, 3600.0, aaren::ActMode::kRecurrent, 1);
    aaren::lean::Policy lean_policy(aaren::lean_model_of(agent, "(in memory)"), 3600.0);
    std::mt19937_64 rng(c.d);
    std::normal_distribution<double> normal(0.0, 2.0);
    std::vector<double> obs(11), a(3), b(3), reward(1);
    double worst = 0;
    for (int64_t t = 0; t < c.steps; ++t) {
      for (auto& x : obs) x = normal(rng);
      if (t % 37 == 5) obs[t % 11] = 1e3;  // an extreme observation now and then
      reward[0] = normal(rng);
      torch_policy.act(obs, a);
      lean_policy.act(obs.data(), b.data());
      torch_policy.advance(reward);
      lean_policy.observe(reward[0]);
      for (int k = 0; k < 3; ++k) worst = std::max(worst, std::abs(a[k] - b[k]));
    }
    INFO("d=" << c.d << " heads=" << c.heads << " " << c.tokens);
    CHECK(worst < 1e-5);
  }
}

TEST_CASE("lean runtime: a real Hopper episode, the lean policy fed what the LibTorch one saw", "[lean]") {
  for (std::string tokens : {"interleaved", "fused"}) {
  INFO(tokens);
  const auto agent = random_agent(128, 3, 1, 1000, 3, tokens);
  aaren::DecisionBatchPolicy torch_policy(agent.model, agent.normalizer, 1000.0, 3600.0, aaren::ActMode::kRecurrent, 1);
  aaren::lean::Policy lean_policy(aaren::lean_model_of(agent, "(in memory)"), 3600.0);
  auto env = aaren::envs::make_env("hopper");
  env->seed(4);
  std::vector<double> obs = env->reset(), a(3), b(3);
  double worst = 0;
  int64_t steps = 0;
  for (bool done = false; !done; ++steps) {
    torch_policy.act(obs, a);
    lean_policy.act(obs.data(), b.data());
    for (int k = 0; k < 3; ++k) worst = std::max(worst, std::abs(a[k] - b[k]));
    const auto r = env->step(a);
    torch_policy.advance({r.reward});
    lean_policy.observe(r.reward);
    obs = env->observation();
    done = r.done();
  }
  INFO("episode of " << steps << " steps");
  CHECK(steps > 5);
  CHECK(worst < 1e-5);
  }
}

TEST_CASE("lean export: a Transformer agent is refused with a clear message", "[lean]") {
  auto agent = random_agent(32, 1, 1, 50, 1);
  auto config = agent.model->config();
  config.backbone.kind = "transformer";
  agent.model = aaren::DecisionPolicy(config);
  CHECK_THROWS_WITH(aaren::to_policy_file(agent), Catch::Contains("runs Aaren"));
}
