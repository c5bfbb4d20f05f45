// Backbones: the same weights run in parallel and token by token.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include "agents/models/aaren_attention.h"
#include "agents/models/backbone.h"
#include "base/config_fields.h"
#include "tests/agents/scan_test_support.h"

using aaren::Backbone;
using aaren::BackboneConfig;
using aaren::testing::max_abs_diff;

namespace {
// Every registered backbone's name (agents/models/backbones.h).
std::vector<std::string> every_backbone() {
  std::vector<std::string> names;
  for (const auto& d : aaren::backbone_descriptors()) names.push_back(d.name);
  return names;
}

BackboneConfig small_config(const std::string& kind, int64_t heads) {
  BackboneConfig c;
  c.kind = aaren::base::parse_enum<aaren::BackboneKind>(kind);
  c.d_model = 32;
  c.n_layers = 3;
  c.n_heads = heads;
  c.dropout = 0.1;
  c.kv_capacity = 8;  // small, so the cache has to grow during the tests
  return c;
}
}  // namespace

TEST_CASE("backbone: recurrent steps == parallel forward", "[backbone]") {
  torch::manual_seed(11);
  for (const auto& kind : every_backbone()) {
    for (int64_t heads : {1, 4}) {
      Backbone net(small_config(kind, heads));
      net->eval();
      torch::NoGradGuard no_grad;
      const int64_t B = 3, N = 150;
      auto x = torch::randn({B, N, 32});
      auto parallel = net->forward(x);
      auto state = net->initial_state(B);
      std::vector<torch::Tensor> steps;
      for (int64_t t = 0; t < N; ++t) steps.push_back(net->step(x.select(1, t), state));
      INFO(kind << " heads=" << heads);
      CHECK(max_abs_diff(torch::stack(steps, 1), parallel) < 1e-5);
      CHECK(state.tokens == N);
    }
  }
}

TEST_CASE("backbone: chunked forward with carried state == one pass", "[backbone]") {
  torch::manual_seed(12);
  for (const auto& kind : every_backbone()) {
    Backbone net(small_config(kind, 2));
    net->eval();
    torch::NoGradGuard no_grad;
    auto x = torch::randn({2, 100, 32});
    auto whole = net->forward(x);
    auto state = net->initial_state(2);
    auto a = net->forward(x.narrow(1, 0, 37), {}, &state);
    auto b = net->forward(x.narrow(1, 37, 63), {}, &state);
    INFO(kind);
    CHECK(max_abs_diff(torch::cat({a, b}, 1), whole) < 1e-5);
  }
}

TEST_CASE("backbone: padding changes nothing at real positions", "[backbone]") {
  torch::manual_seed(13);
  for (const auto& kind : every_backbone()) {
    Backbone net(small_config(kind, 2));
    net->eval();
    torch::NoGradGuard no_grad;
    const int64_t N = 30, pad = 7;
    auto x = torch::randn({1, N, 32});
    auto plain = net->forward(x);
    // Left padding (DT windows) and right padding (batched episodes) with junk.
    auto junk = torch::randn({1, pad, 32}) * 100;
    auto left = torch::cat({junk, x}, 1), right = torch::cat({x, junk}, 1);
    auto lmask = torch::cat({torch::zeros({1, pad}, torch::kBool), torch::ones({1, N}, torch::kBool)}, 1);
    auto rmask = torch::cat({torch::ones({1, N}, torch::kBool), torch::zeros({1, pad}, torch::kBool)}, 1);
    INFO(kind);
    CHECK(max_abs_diff(net->forward(left, lmask).narrow(1, pad, N), plain) < 1e-5);
    CHECK(max_abs_diff(net->forward(right, rmask).narrow(1, 0, N), plain) < 1e-5);
  }
}

TEST_CASE("backbone: Aaren with the fast and the reference scan agree, gradients too", "[backbone]") {
  torch::manual_seed(14);
  auto cfg = small_config("aaren", 2);
  cfg.dropout = 0.0;
  Backbone fast(cfg);
  cfg.scan = "reference";
  Backbone ref(cfg);
  // Same weights.
  {
    torch::NoGradGuard no_grad;
    auto src = fast->named_parameters(), dst = ref->named_parameters();
    for (auto& p : src) dst[p.key()].copy_(p.value());
  }
  auto x = torch::randn({4, 60, 32});
  auto mask = torch::rand({4, 60}) > 0.2;
  auto yf = fast->forward(x, mask), yr = ref->forward(x, mask);
  auto g = torch::randn_like(yf) * mask.unsqueeze(-1);
  (yf * g).sum().backward();
  (yr * g).sum().backward();
  CHECK(max_abs_diff(yf * mask.unsqueeze(-1), yr * mask.unsqueeze(-1)) < 1e-5);
  auto pf = fast->named_parameters(), pr = ref->named_parameters();
  for (auto& p : pf) {
    INFO(p.key());
    CHECK(max_abs_diff(p.value().grad(), pr[p.key()].grad()) < 1e-4);
  }
}

TEST_CASE("backbone: Aaren's and the LSTM's states are constant in size, the KV cache grows", "[backbone]") {
  torch::NoGradGuard no_grad;
  Backbone aaren_net(small_config("aaren", 2)), tf_net(small_config("transformer", 2)),
      lstm_net(small_config("lstm", 2));
  aaren_net->eval();
  tf_net->eval();
  lstm_net->eval();
  auto sa = aaren_net->initial_state(1), st = tf_net->initial_state(1), sl = lstm_net->initial_state(1);
  aaren_net->step(torch::randn({1, 32}), sa);
  tf_net->step(torch::randn({1, 32}), st);
  lstm_net->step(torch::randn({1, 32}), sl);
  const auto aaren_first = sa.bytes(), tf_first = st.bytes(), lstm_first = sl.bytes();
  for (int i = 0; i < 300; ++i) {
    aaren_net->step(torch::randn({1, 32}), sa);
    tf_net->step(torch::randn({1, 32}), st);
    lstm_net->step(torch::randn({1, 32}), sl);
  }
  CHECK(sa.bytes() == aaren_first);
  CHECK(sl.bytes() == lstm_first);
  // 3 layers x 2 heads x (m, u, 16-d w) floats.
  CHECK(aaren_first == 3 * (2 + 2 + 2 * 16) * 4);
  // 3 layers x (h, c), 32 floats each.
  CHECK(lstm_first == 3 * 2 * 32 * 4);
  CHECK(st.bytes() > 30 * tf_first);
}

TEST_CASE("backbone: parameter counts differ only by the learned queries", "[backbone]") {
  auto count = [](const torch::nn::Module& m) {
    int64_t n = 0;
    for (const auto& p : m.parameters()) n += p.numel();
    return n;
  };
  Backbone a(small_config("aaren", 4)), t(small_config("transformer", 4));
  // Aaren: key, value, out projections + one query per head (H x d_head = D);
  // Transformer: query, key, value, out projections (one extra D x D + D).
  CHECK(count(*t) - count(*a) == 3 * (32 * 32 + 32 - 32));
}

TEST_CASE("backbone: bad configs are rejected with the field named", "[backbone]") {
  BackboneConfig c;
  // The kind is an enum: an unknown one is refused where text becomes it.
  CHECK_THROWS_WITH(aaren::base::parse_enum<aaren::BackboneKind>("gru"),
                    Catch::Contains("must be aaren, transformer or lstm"));
  c.n_heads = 3;
  CHECK_THROWS_WITH(Backbone(c), Catch::Contains("n_heads must divide d_model"));
  c = BackboneConfig{};
  c.dropout = 1.5;
  CHECK_THROWS_WITH(Backbone(c), Catch::Contains("dropout"));
}

TEST_CASE(
    "backbone: Aaren's acting snapshot == the training path, and one retaken after the weights change follows them",
    "[backbone]") {
  torch::manual_seed(12);
  for (int64_t heads : {1, 4}) {
    Backbone net(small_config("aaren", heads));
    net->eval();  // no dropout: every path computes the same function
    const auto x = torch::randn({2, 40, 32});
    auto with_grad = [&] { return net->forward(x).detach(); };  // folded key and value apart
    auto inference = [&] {
      c10::InferenceMode guard;
      return net->forward(x).clone();
    };
    INFO("heads=" << heads);
    CHECK(max_abs_diff(inference(), with_grad()) < 1e-5);  // no snapshot yet: the plain path
    net->prepare_inference();                              // one fused [D -> H + D] projection
    CHECK(max_abs_diff(inference(), with_grad()) < 1e-5);
    // An optimiser step changes the weights; a new snapshot follows them.
    torch::optim::SGD sgd(net->parameters(), torch::optim::SGDOptions(0.5));
    sgd.zero_grad();
    net->forward(x).pow(2).sum().backward();
    sgd.step();
    const auto after = with_grad();
    // LibTorch's C++ optimisers write through .data(), out of sight of the version counters,
    // so the snapshot is retaken when acting starts: every acting policy (DecisionBatchPolicy)
    // calls prepare_inference() when it is made, and train() drops the snapshot.
    net->prepare_inference();
    const double scale = 1.0 + after.abs().max().item<double>();  // the big step made big outputs
    CHECK(max_abs_diff(inference(), after) < 1e-6 * scale);
    // train() drops the snapshot: eval mode without one takes the plain path.
    net->train();
    net->eval();
    {
      torch::NoGradGuard no_grad;
      for (auto& p : net->named_parameters())
        if (p.key().find("value.weight") != std::string::npos) p.value().mul_(-1.0);
    }
    CHECK(max_abs_diff(inference(), with_grad()) < 1e-6 * scale);
  }
}

namespace {
// Positions as a decision policy gives them: env steps, three tokens per
// step (interleaved), starting late in an episode so that b p is large.
torch::Tensor late_positions(int64_t B, int64_t N, double first) {
  return (first + torch::arange(N, torch::kDouble).div(3).floor()).unsqueeze(0).repeat({B, 1});
}
}  // namespace

TEST_CASE("backbone: Aaren's recency bias == softmax attention over s_i + b p_i (float64 brute force)", "[backbone]") {
  torch::manual_seed(GENERATE(21, 22));
  const double rate = GENERATE(0.05, 0.7);
  BackboneConfig c = small_config("aaren", 2);
  c.recency = rate;
  c.dropout = 0;
  aaren::AarenAttention layer(c);
  layer.eval();
  torch::NoGradGuard no_grad;
  const int64_t B = 2, N = 90, H = 2;
  const auto x = torch::randn({B, N, 32});
  const auto positions = late_positions(B, N, 950);  // b p up to ~700
  REQUIRE(torch::allclose(layer.recency_rates(), torch::full({H}, rate)));
  const auto fast = layer.forward(x, {}, nullptr, positions.to(torch::kFloat));
  auto [s, v] = layer.scores_and_values(x);
  const auto biased = s.to(torch::kDouble) + rate * positions.unsqueeze(1);
  const auto o = aaren::attention_bruteforce(biased, v.to(torch::kDouble)).permute({0, 2, 1, 3}).reshape({B, N, 32});
  auto params = layer.named_parameters();
  const auto brute = torch::addmm(params["out.bias"].to(torch::kDouble), o.reshape({B * N, 32}),
                                  params["out.weight"].to(torch::kDouble).t())
                         .view({B, N, 32});
  CAPTURE(rate);
  CHECK(max_abs_diff(fast.to(torch::kDouble), brute) < 1e-4);
  // The bias matters: without it the outputs differ.
  CHECK(max_abs_diff(aaren::attention_bruteforce(s.to(torch::kDouble), v.to(torch::kDouble)),
                     aaren::attention_bruteforce(biased, v.to(torch::kDouble))) > 1e-2);
}

TEST_CASE("backbone: with a recency bias, recurrent steps and chunks == parallel forward, late in an episode",
          "[backbone]") {
  torch::manual_seed(23);
  BackboneConfig c = small_config("aaren", 2);
  c.recency = 0.3;
  Backbone net(c);
  net->eval();
  torch::NoGradGuard no_grad;
  const int64_t B = 3, N = 120;
  const auto x = torch::randn({B, N, 32});
  const auto positions = late_positions(B, N, 900).to(torch::kFloat);
  const auto parallel = net->forward(x, {}, nullptr, positions);
  auto state = net->initial_state(B);
  std::vector<torch::Tensor> steps;
  for (int64_t t = 0; t < N; ++t) steps.push_back(net->step(x.select(1, t), state, positions.select(1, t)));
  CHECK(max_abs_diff(torch::stack(steps, 1), parallel) < 1e-4);
  auto chunked = net->initial_state(B);
  const auto a = net->forward(x.narrow(1, 0, 50), {}, &chunked, positions.narrow(1, 0, 50));
  const auto b = net->forward(x.narrow(1, 50, N - 50), {}, &chunked, positions.narrow(1, 50, N - 50));
  CHECK(max_abs_diff(torch::cat({a, b}, 1), parallel) < 1e-4);
  // Without positions a recency model refuses to run.
  CHECK_THROWS(net->forward(x));
}

TEST_CASE("backbone: the recency rate's gradient == central finite differences (float64)", "[backbone]") {
  torch::manual_seed(24);
  BackboneConfig c = small_config("aaren", 2);
  c.recency = 0.2;
  c.dropout = 0;
  Backbone net(c);
  net->to(torch::kDouble);
  net->train();
  const int64_t B = 2, N = 45;
  const auto x = torch::randn({B, N, 32}, torch::kDouble);
  const auto positions = late_positions(B, N, 300);
  const auto probe = torch::randn({B, N, 32}, torch::kDouble);
  auto loss = [&] { return (net->forward(x, {}, nullptr, positions) * probe).sum(); };
  torch::Tensor rho;
  for (auto& p : net->named_parameters())
    if (p.key().find("recency") != std::string::npos) rho = p.value();
  REQUIRE(rho.defined());
  loss().backward();
  const auto analytic = rho.grad().clone();
  torch::NoGradGuard no_grad;
  const double h = 1e-6;
  for (int64_t k = 0; k < rho.numel(); ++k) {
    const double saved = rho[k].item<double>();
    rho[k] = saved + h;
    const double up = loss().item<double>();
    rho[k] = saved - h;
    const double down = loss().item<double>();
    rho[k] = saved;
    CHECK(analytic[k].item<double>() == Approx((up - down) / (2 * h)).epsilon(1e-5).margin(1e-7));
  }
}
