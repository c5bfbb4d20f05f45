// The lean runtime against the LibTorch policy it was exported from.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "agents/acting/decision_rollout.h"
#include "agents/acting/lean_export.h"
#include "envs/registry.h"
#include "tests/agents/decision_test_support.h"

namespace {

aaren::LoadedAgent random_agent(int64_t d_model, int64_t layers, int64_t heads, int64_t max_ep_len, uint64_t seed,
                                const std::string& tokens = "interleaved", const std::string& backbone = "aaren") {
  torch::manual_seed(seed);
  aaren::DecisionConfig dc;
  dc.state_dim = 11;
  dc.act_dim = 3;
  dc.max_ep_len = max_ep_len;
  dc.backbone.kind = aaren::testing::backbone_kind(backbone);
  aaren::testing::set_token_layout(dc, tokens);
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

TEST_CASE("lean runtime: actions == the LibTorch recurrent policy's over whole episodes (Aaren, LSTM)", "[lean]") {
  struct Case {
    int64_t d, layers, heads, max_ep_len, steps;
    std::string tokens, backbone = "aaren";
  };
  // DT's size; several heads; an episode longer than the timestep table; both
  // layouts, the fused one also as its plain sum; the LSTM in both layouts.
  for (const auto& c :
       {Case{128, 3, 1, 1000, 300, "interleaved"}, Case{64, 2, 4, 50, 120, "interleaved"},
        Case{128, 3, 1, 1000, 300, "fused"}, Case{64, 2, 4, 50, 120, "fused"}, Case{64, 2, 1, 50, 120, "fused-sum"},
        Case{128, 3, 1, 1000, 300, "interleaved", "lstm"}, Case{64, 2, 1, 50, 120, "fused", "lstm"}}) {
    const auto agent = random_agent(c.d, c.layers, c.heads, c.max_ep_len, 7 + c.d, c.tokens, c.backbone);
    aaren::DecisionBatchPolicy torch_policy(agent.model, agent.normalizer, 1000.0, 3600.0, aaren::ActMode::kRecurrent,
                                            1);
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
    INFO(c.backbone << " d=" << c.d << " heads=" << c.heads << " " << c.tokens);
    CHECK(worst < 1e-5);
  }
}

TEST_CASE("lean runtime: a real Hopper episode, the lean policy fed what the LibTorch one saw", "[lean]") {
  for (std::string tokens : {"interleaved", "fused"}) {
    INFO(tokens);
    const auto agent = random_agent(128, 3, 1, 1000, 3, tokens);
    aaren::DecisionBatchPolicy torch_policy(agent.model, agent.normalizer, 1000.0, 3600.0, aaren::ActMode::kRecurrent,
                                            1);
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

// FNV-1a from its specification, with the offset basis given (version 1 used a
// non-standard one), to check the checksum and to forge a version-1 file below.
uint64_t fnv1a(const std::string& bytes, uint64_t basis = 14695981039346656037ull) {
  uint64_t h = basis;
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
  return h;
}

TEST_CASE(
    "lean export: version 2 carries a standard checksum, and a version-1 file (no fused_norm key) is the plain fused "
    "sum",
    "[lean]") {
  const auto agent = random_agent(32, 2, 1, 50, 11, "fused-sum");
  auto file = aaren::to_policy_file(agent);
  const auto dir = std::filesystem::temp_directory_path() / ("aaren-lean-v1-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto v2 = (dir / "v2.bin").string(), v1 = (dir / "v1.bin").string();
  aaren::lean::write_policy_file(v2, file);
  {
    // Version 2's checksum is the standard FNV-1a of every byte before it.
    std::ifstream f(v2, std::ios::binary);
    const std::string b((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    uint64_t stored = 0;
    std::memcpy(&stored, b.data() + b.size() - 8, 8);
    CHECK(stored == fnv1a(b.substr(0, b.size() - 8)));
  }
  file.header.erase("fused_norm");
  aaren::lean::write_policy_file(v1, file);
  // Rewrite the version field (after the 8-byte magic) to 1 and re-sign.
  std::ifstream in(v1, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  const uint32_t one = 1;
  std::memcpy(&bytes[8], &one, sizeof one);
  const uint64_t sum = fnv1a(bytes.substr(0, bytes.size() - 8), 1469598103934665603ull);
  std::memcpy(&bytes[bytes.size() - 8], &sum, sizeof sum);
  std::ofstream(v1, std::ios::binary) << bytes;

  aaren::lean::Policy old_file(aaren::lean::Model::load(v1), 3600.0), new_file(aaren::lean::Model::load(v2), 3600.0);
  CHECK(old_file.model().fused);
  CHECK_FALSE(old_file.model().fused_norm);
  std::vector<double> obs(11, 0.3), a(3), b(3);
  for (int t = 0; t < 20; ++t) {
    old_file.act(obs.data(), a.data());
    new_file.act(obs.data(), b.data());
    for (int k = 0; k < 3; ++k) CHECK(a[k] == b[k]);
    old_file.observe(1.0), new_file.observe(1.0);
    obs[t % 11] += 0.1;
  }
  // A version-2 fused file whose header asks for the per-part LayerNorms must hold them.
  auto normed = aaren::to_policy_file(random_agent(32, 2, 1, 50, 12, "fused"));
  CHECK(normed.header.at("fused_norm") == "1");
  normed.tensors.erase("norm_state.weight");
  CHECK_THROWS_WITH(aaren::lean::Model::from_file(normed, "x.bin"), Catch::Contains("norm_state.weight"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("lean export: a Transformer agent is refused with a clear message", "[lean]") {
  auto agent = random_agent(32, 1, 1, 50, 1);
  auto config = agent.model->config();
  config.backbone.kind = aaren::BackboneKind::kTransformer;
  agent.model = aaren::DecisionPolicy(config);
  CHECK_THROWS_WITH(aaren::to_policy_file(agent),
                    Catch::Contains("the lean runtime does not run transformer policies"));
}
