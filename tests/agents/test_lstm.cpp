// The LSTM backbone (Decision LSTM): LibTorch's LSTM in the mixer against the
// LSTM's equations written out, its gradients against finite differences, and
// the padding and state handling the decision policy relies on.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include "agents/models/aaren_attention.h"
#include "agents/models/backbone.h"
#include "agents/models/lstm_mixer.h"
#include "tests/agents/scan_test_support.h"

using aaren::testing::max_abs_diff;

namespace {
aaren::BackboneConfig lstm_config(int64_t d_model = 8, int64_t layers = 2) {
  aaren::BackboneConfig c;
  c.kind = aaren::BackboneKind::kLstm;
  c.d_model = d_model, c.n_layers = layers, c.dropout = 0.0;
  return c;
}

// Hochreiter & Schmidhuber's LSTM with a forget gate, in the gate order and
// layout LibTorch documents for torch::nn::LSTM (i, f, g, o stacked in
// weight_ih [4D, D], weight_hh [4D, D], two biases):
//   i = s(W_ii x + b_ii + W_hi h + b_hi), f = s(...), g = tanh(...), o = s(...),
//   c' = f c + i g, h' = o tanh(c').
// Row b's real tokens (mask) are taken in order; padded positions output 0.
// Returns the outputs [B, N, D] and updates (h, c) [B, D].
torch::Tensor lstm_by_hand(aaren::LstmMixer& mixer, const torch::Tensor& x, const torch::Tensor& mask, torch::Tensor& h,
                           torch::Tensor& c) {
  auto p = mixer.named_parameters();
  const auto w_ih = p["lstm.weight_ih_l0"], w_hh = p["lstm.weight_hh_l0"];
  const auto bias = p["lstm.bias_ih_l0"] + p["lstm.bias_hh_l0"];
  auto out = torch::zeros_like(x);
  for (int64_t b = 0; b < x.size(0); ++b) {
    for (int64_t n = 0; n < x.size(1); ++n) {
      if (!mask[b][n].item<bool>()) continue;
      const auto gates = torch::matmul(w_ih, x[b][n]) + torch::matmul(w_hh, h[b]) + bias;
      const auto parts = gates.chunk(4);
      const auto i = torch::sigmoid(parts[0]), f = torch::sigmoid(parts[1]);
      const auto g = torch::tanh(parts[2]), o = torch::sigmoid(parts[3]);
      c[b] = f * c[b] + i * g;
      h[b] = o * torch::tanh(c[b]);
      out[b][n] = h[b];
    }
  }
  return out;
}
}  // namespace

TEST_CASE("lstm: the mixer == the LSTM's equations (float64), padding anywhere, a state carried in and out", "[lstm]") {
  torch::manual_seed(GENERATE(31, 32));
  aaren::LstmMixer mixer(lstm_config(8));
  mixer.to(torch::kDouble);
  torch::NoGradGuard no_grad;
  const int64_t B = 4, N = 13;
  const auto x = torch::randn({B, N, 8}, torch::kDouble) * 2;
  // Random holes, a row with no real token, a fully real row.
  auto mask = torch::rand({B, N}) > 0.35;
  mask[1].fill_(false);
  mask[2].fill_(true);
  auto state = mixer.initial_state(B, torch::TensorOptions(torch::kDouble));
  auto& own = dynamic_cast<aaren::LstmState&>(*state);
  own.h = torch::randn({1, B, 8}, torch::kDouble), own.c = torch::randn({1, B, 8}, torch::kDouble);
  auto h = own.h[0].clone(), c = own.c[0].clone();
  const auto expected = lstm_by_hand(mixer, x, mask, h, c);
  const auto got = mixer.forward(x, mask, state.get(), {});
  CHECK(max_abs_diff(got, expected) < 1e-12);
  CHECK(max_abs_diff(own.h[0], h) < 1e-12);  // row 1 (no real token) keeps its state
  CHECK(max_abs_diff(own.c[0], c) < 1e-12);
  // No mask: every token real.
  auto h2 = torch::zeros({B, 8}, torch::kDouble), c2 = torch::zeros({B, 8}, torch::kDouble);
  const auto all = torch::ones({B, N}, torch::kBool);
  CHECK(max_abs_diff(mixer.forward(x, {}, nullptr, {}), lstm_by_hand(mixer, x, all, h2, c2)) < 1e-12);
}

TEST_CASE("lstm: gradients == central finite differences (float64), through padding and a carried state", "[lstm]") {
  torch::manual_seed(33);
  aaren::Backbone net(lstm_config(6, 2));
  net->to(torch::kDouble);
  net->train();
  const int64_t B = 2, N = 9;
  const auto x = torch::randn({B, N, 6}, torch::kDouble).requires_grad_(true);
  auto mask = torch::ones({B, N}, torch::kBool);
  mask[0].narrow(0, 0, 3).fill_(false);  // DT's windows: padding in front
  mask[1].narrow(0, 7, 2).fill_(false);  // episodes in a batch: padding behind
  const auto probe = torch::randn({B, N, 6}, torch::kDouble) * mask.unsqueeze(2);
  // A first chunk makes the state the second one continues from (no detach: the gradient flows through it).
  const auto first = torch::randn({B, 4, 6}, torch::kDouble);
  auto loss = [&] {
    auto state = net->initial_state(B);
    net->forward(first, {}, &state);
    return (net->forward(x, mask, &state) * probe).sum();
  };
  loss().backward();
  auto params = net->named_parameters();
  std::vector<std::pair<std::string, torch::Tensor>> checked{{"x", x}};
  for (const auto* name :
       {"block0.mixer.lstm.weight_hh_l0", "block1.mixer.lstm.weight_ih_l0", "block0.mixer.lstm.bias_ih_l0"})
    checked.emplace_back(name, params[name]);
  torch::NoGradGuard no_grad;
  const double h = 1e-6;
  for (auto& [name, t] : checked) {
    const auto analytic = t.grad().clone();
    auto flat = t.view(-1);
    for (int64_t k = 0; k < flat.numel(); k += 7) {
      const double saved = flat[k].item<double>();
      flat[k] = saved + h;
      const double up = loss().item<double>();
      flat[k] = saved - h;
      const double down = loss().item<double>();
      flat[k] = saved;
      INFO(name << "[" << k << "]");
      CHECK(analytic.view(-1)[k].item<double>() == Approx((up - down) / (2 * h)).epsilon(1e-6).margin(1e-8));
    }
  }
  // A padded input gets no gradient.
  CHECK(x.grad()[0].narrow(0, 0, 3).abs().max().item<double>() == 0.0);
}

TEST_CASE("lstm: reset_sequence restarts one row only, and a mixer refuses another mixer's state", "[lstm]") {
  torch::manual_seed(34);
  aaren::Backbone net(lstm_config(8, 2));
  net->eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({2, 5, 8});
  auto state = net->initial_state(2);
  net->forward(x, {}, &state);
  state.reset_sequence(0);
  const auto y = torch::randn({2, 3, 8});
  const auto continued = net->forward(y, {}, &state);
  auto fresh = net->initial_state(2);
  const auto from_scratch = net->forward(y, {}, &fresh);
  CHECK(max_abs_diff(continued[0], from_scratch[0]) < 1e-6);  // row 0 starts afresh
  CHECK(max_abs_diff(continued[1], from_scratch[1]) > 1e-3);  // row 1 goes on
  aaren::BackboneConfig other = lstm_config(8, 1);
  other.kind = aaren::BackboneKind::kAaren;
  aaren::AarenAttention aaren_layer(other);
  auto scan_state = aaren_layer.initial_state(2, {});
  aaren::LstmMixer lstm_layer(lstm_config(8, 1));
  CHECK_THROWS_WITH(lstm_layer.forward(x, {}, scan_state.get(), {}), Catch::Contains("another mixer's"));
}
