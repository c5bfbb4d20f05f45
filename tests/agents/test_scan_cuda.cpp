// The scan and the decision policy on a CUDA GPU against the CPU: the CUDA
// kernels through LibTorch (scan_fast on CUDA tensors) against the CPU kernel
// and the float64 brute force, gradients included; chunks chained on the GPU;
// bf16 inputs scanned in fp32; fp32 kept exact (no TF32) once CUDA is chosen;
// a training step of each registered backbone on the GPU against the same step
// on the CPU; the LSTM kept in fp32 under bf16 autocast; DT's step captured in a CUDA graph
// against eager steps. Its own binary: where LibTorch sees no
// GPU (a CPU-only LibTorch, or no device) it prints why and exits 77, which
// ctest reports as skipped.
#include <torch/torch.h>

#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>
#include <map>

#include "agents/models/backbones.h"
#include "agents/models/decision_policy.h"
#include "agents/models/device.h"
#include "agents/models/lstm_mixer.h"
#include "agents/scan/scan.h"
#include "agents/training/graph_step.h"
#include "tests/agents/decision_test_support.h"
#include "tests/agents/scan_test_support.h"

namespace {

using aaren::testing::max_abs_diff;
using aaren::testing::rel_error;

struct ScanCase {
  int64_t B, H, N, d;
  double score_scale;
  bool masked, initial;
};

// Inputs on the CPU (float64), a loss that reaches every output, and its
// gradients for one device and dtype.
struct ScanRun {
  torch::Tensor out, mN, uN, wN, ds, dv, du0, dw0;
};

ScanRun run_scan(const ScanCase& c, const torch::Tensor& s, const torch::Tensor& v, const torch::Tensor& mask,
                 const aaren::ScanState& init, const torch::Tensor& go, const torch::Tensor& gu,
                 const torch::Tensor& gw, torch::Device device, torch::Dtype dtype) {
  auto to = [&](const torch::Tensor& t) { return t.to(device, dtype).detach(); };
  auto sd = to(s).requires_grad_(true), vd = to(v).requires_grad_(true);
  c10::optional<aaren::ScanState> initial;
  torch::Tensor u0, w0;
  if (c.initial) {
    u0 = to(init.u).requires_grad_(true), w0 = to(init.w).requires_grad_(true);
    initial = aaren::ScanState{to(init.m), u0, w0};
  }
  const auto md = mask.defined() ? mask.to(device) : torch::Tensor();
  auto r = aaren::scan_fast(sd, vd, initial, md);
  auto loss = (r.out * to(go)).sum() + (r.final.u * to(gu)).sum() + (r.final.w * to(gw)).sum();
  loss.backward();
  auto host = [](const torch::Tensor& t) { return t.defined() ? t.cpu().to(torch::kFloat64) : torch::Tensor(); };
  return {host(r.out),
          host(r.final.m),
          host(r.final.u),
          host(r.final.w),
          host(sd.grad()),
          host(vd.grad()),
          c.initial ? host(u0.grad()) : torch::Tensor(),
          c.initial ? host(w0.grad()) : torch::Tensor()};
}

}  // namespace

TEST_CASE("CUDA scan == the CPU kernel and the brute force, outputs and gradients", "[cuda]") {
  const std::vector<ScanCase> cases{{2, 1, 1, 8, 1, false, false},    {3, 2, 7, 16, 1, true, true},
                                    {2, 4, 61, 32, 30, true, false},  {4, 1, 600, 128, 1e4, true, true},
                                    {2, 2, 3000, 64, 3, false, true}, {1, 1, 3001, 33, 1, true, true}};
  torch::manual_seed(11);
  for (const auto& c : cases) {
    const auto opt = torch::dtype(torch::kFloat64);
    const auto s = torch::randn({c.B, c.H, c.N}, opt) * c.score_scale, v = torch::randn({c.B, c.H, c.N, c.d}, opt);
    const auto mask = c.masked ? torch::rand({c.B, c.N}) > 0.2 : torch::Tensor();
    const aaren::ScanState init{torch::randn({c.B, c.H}, opt) * c.score_scale, torch::rand({c.B, c.H}, opt) + 0.5,
                                torch::randn({c.B, c.H, c.d}, opt)};
    const auto go = torch::randn({c.B, c.H, c.N, c.d}, opt), gu = torch::randn({c.B, c.H}, opt),
               gw = torch::randn({c.B, c.H, c.d}, opt);
    INFO("B=" << c.B << " H=" << c.H << " N=" << c.N << " d=" << c.d << " scores x" << c.score_scale
              << " masked=" << c.masked << " initial=" << c.initial);
    const auto truth =
        aaren::attention_bruteforce(s, v, c.initial ? c10::optional<aaren::ScanState>(init) : c10::nullopt, mask);
    for (const auto dtype : {torch::kFloat64, torch::kFloat32}) {
      const double tol = dtype == torch::kFloat64 ? 1e-10 : 2e-4;
      INFO((dtype == torch::kFloat64 ? "double" : "float"));
      const auto gpu = run_scan(c, s, v, mask, init, go, gu, gw, torch::kCUDA, dtype);
      const auto cpu = run_scan(c, s, v, mask, init, go, gu, gw, torch::kCPU, dtype);
      CHECK(rel_error(gpu.out, truth) < tol);
      CHECK(rel_error(gpu.out, cpu.out) < tol);
      CHECK(torch::equal(gpu.mN, cpu.mN));
      CHECK(rel_error(gpu.uN, cpu.uN) < tol);
      CHECK(rel_error(gpu.wN, cpu.wN) < tol);
      CHECK(rel_error(gpu.ds, cpu.ds) < tol);
      CHECK(rel_error(gpu.dv, cpu.dv) < tol);
      if (c.initial) {
        CHECK(rel_error(gpu.du0, cpu.du0) < tol);
        CHECK(rel_error(gpu.dw0, cpu.dw0) < tol);
      }
    }
  }
}

TEST_CASE("CUDA scan: chunks chained through the carried state == one pass, same seed, same bits", "[cuda]") {
  torch::manual_seed(12);
  const auto opt = torch::device(torch::kCUDA).dtype(torch::kFloat32);
  const int64_t B = 3, H = 2, N = 700, d = 32;
  const auto s = torch::randn({B, H, N}, opt) * 5, v = torch::randn({B, H, N, d}, opt);
  const auto whole = aaren::scan_fast(s, v);
  c10::optional<aaren::ScanState> state;
  std::vector<torch::Tensor> parts;
  for (const auto& [from, to] : std::vector<std::pair<int64_t, int64_t>>{{0, 1}, {1, 300}, {300, N}}) {
    auto r = aaren::scan_fast(s.narrow(2, from, to - from), v.narrow(2, from, to - from), state);
    parts.push_back(r.out);
    state = r.final;
  }
  CHECK(rel_error(torch::cat(parts, 2), whole.out) < 1e-5);
  CHECK(rel_error(state->w, whole.final.w) < 1e-5);
  CHECK(torch::equal(aaren::scan_fast(s, v).out, whole.out));
}

TEST_CASE("CUDA scan: bf16 scores and values are scanned in fp32", "[cuda]") {
  torch::manual_seed(13);
  const auto s = torch::randn({2, 1, 500}, torch::device(torch::kCUDA)).to(torch::kBFloat16);
  const auto v = torch::randn({2, 1, 500, 64}, torch::device(torch::kCUDA)).to(torch::kBFloat16);
  const auto r = aaren::scan_fast(s, v);
  CHECK(r.out.scalar_type() == torch::kFloat32);
  CHECK(r.final.u.scalar_type() == torch::kFloat32);
  CHECK(rel_error(r.out, aaren::scan_fast(s.to(torch::kFloat32), v.to(torch::kFloat32)).out) < 1e-6);
}

TEST_CASE("CUDA: choosing the device keeps fp32 exact (no TF32 in cuBLAS or cuDNN)", "[cuda]") {
  at::globalContext().setAllowTF32CuDNN(true);  // LibTorch's default
  at::globalContext().setAllowTF32CuBLAS(true);
  CHECK(aaren::parse_device("--device", "cuda").is_cuda());
  CHECK_FALSE(at::globalContext().allowTF32CuDNN());
  CHECK_FALSE(at::globalContext().allowTF32CuBLAS());
}

// Every registered backbone: the LSTM's step runs in cuDNN's RNN (packed, for the masked rows).
TEST_CASE("CUDA: a training step of each backbone == the same step on the CPU", "[cuda]") {
  for (const auto& descriptor : aaren::backbone_descriptors()) {
    const std::string& kind = descriptor.name;
    INFO(kind);
    const auto config = aaren::testing::small_decision_config(kind);
    torch::manual_seed(14);
    aaren::DecisionPolicy cpu_model(config), gpu_model(config);
    {
      torch::NoGradGuard no_grad;
      auto src = cpu_model->named_parameters();
      for (auto& p : gpu_model->named_parameters()) p.value().copy_(src[p.key()]);
    }
    gpu_model->to(torch::kCUDA);
    const int64_t T = 40;
    const auto batch = aaren::testing::random_decision_batch(4, T);
    const auto &states = batch.states, &actions = batch.actions, &rtg = batch.returns_to_go, &steps = batch.timesteps;
    const auto mask = torch::arange(T).unsqueeze(0) < torch::tensor({40, 30, 1, 17}).unsqueeze(1);
    auto loss_of = [&](aaren::DecisionPolicy& m, torch::Device dev) {
      const auto pred = m->forward(states.to(dev), actions.to(dev), rtg.to(dev), steps.to(dev), mask.to(dev));
      return ((pred - actions.to(dev)).pow(2) * mask.to(dev).unsqueeze(-1)).sum();
    };
    auto lc = loss_of(cpu_model, torch::kCPU), lg = loss_of(gpu_model, torch::kCUDA);
    lc.backward();
    lg.backward();
    CHECK(std::abs(lc.item<double>() - lg.item<double>()) < 1e-4 * (1 + std::abs(lc.item<double>())));
    auto gpu_params = gpu_model->named_parameters();
    // Each parameter's gradient error against the largest gradient entry in
    // the model: a gradient that is exactly zero in exact arithmetic (the key
    // projection's bias adds q.b to every score of a softmax, which cancels)
    // is rounding noise on both devices, and a relative error of noise means
    // nothing. That one is checked to be noise-sized instead.
    double scale = 0;
    for (const auto& p : cpu_model->named_parameters())
      scale = std::max(scale, p.value().grad().abs().max().item<double>());
    double worst = 0;
    std::string worst_name;
    for (const auto& p : cpu_model->named_parameters()) {
      const double e = max_abs_diff(gpu_params[p.key()].grad().cpu(), p.value().grad()) / scale;
      if (e > worst) worst = e, worst_name = p.key();
      if (p.key().find("key.bias") != std::string::npos) {
        INFO(p.key() << ": its exact gradient is zero");
        CHECK(p.value().grad().abs().max().item<double>() < 1e-5 * scale);
      }
    }
    INFO("worst: " << worst_name);
    CHECK(worst < 1e-4);
  }
}

TEST_CASE("CUDA bf16 autocast: the LSTM computes in fp32, not in the fp16 of LibTorch's cuDNN RNN cast", "[cuda]") {
  aaren::BackboneConfig config;
  config.kind = aaren::BackboneKind::kLstm;
  torch::manual_seed(15);
  auto mixer = std::make_shared<aaren::LstmMixer>(config);
  mixer->to(torch::kCUDA);
  const torch::Device cuda(torch::kCUDA);
  // Inputs as autocast may hand them over (bf16), whole rows and masked ones.
  const auto x = torch::randn({3, 50, config.d_model}, cuda).to(torch::kBFloat16);
  const auto mask = torch::arange(50, cuda).unsqueeze(0) < torch::tensor({50, 20, 1}, cuda).unsqueeze(1);
  for (const bool masked : {false, true}) {
    INFO("masked " << masked);
    const auto m = masked ? mask : torch::Tensor();
    const auto expected = mixer->forward(x.to(torch::kFloat), m, nullptr, {});
    torch::Tensor got;
    {
      aaren::AutocastScope bf16(true, cuda);
      got = mixer->forward(x, m, nullptr, {});
    }
    CHECK(got.scalar_type() == torch::kFloat);
    CHECK(max_abs_diff(got.cpu(), expected.cpu()) < 1e-6);
  }
}

TEST_CASE("CUDA graphs: captured DT steps == eager steps, with warm-up, a changing rate and a recapture", "[cuda]") {
  // Dropout 0 (small_decision_config): the two runs draw nothing random, so
  // they must agree to rounding at every update, including after the graph
  // is dropped because the weights went to the CPU and back (an evaluation).
  const auto config = aaren::testing::small_decision_config("transformer");
  torch::manual_seed(21);
  aaren::DecisionPolicy eager_model(config), graph_model(config);
  {
    torch::NoGradGuard no_grad;
    auto src = eager_model->named_parameters();
    for (auto& p : graph_model->named_parameters()) p.value().copy_(src[p.key()]);
  }
  std::map<std::string, torch::Tensor> initial;  // to check the updates moved the weights at all
  for (const auto& p : eager_model->named_parameters()) initial[p.key()] = p.value().detach().clone();
  eager_model->to(torch::kCUDA), graph_model->to(torch::kCUDA);
  const auto options = torch::optim::AdamWOptions(1e-3).weight_decay(1e-4);
  torch::optim::AdamW eager_opt(eager_model->parameters(), options), graph_opt(graph_model->parameters(), options);
  const int64_t B = 4, T = 20;
  auto batch_of = [&](int64_t i) {
    torch::manual_seed(100 + i);
    const auto b = aaren::testing::random_decision_batch(B, T);
    const auto lengths = torch::randint(1, T + 1, {B}, torch::kLong);
    const auto mask = torch::arange(T).unsqueeze(0) < lengths.unsqueeze(1);
    return aaren::data::SequenceBatch{b.states.cuda(),        b.actions.cuda(),   torch::zeros({B, T}).cuda(),
                                      b.returns_to_go.cuda(), b.timesteps.cuda(), mask.cuda()};
  };
  auto loss_of = [](aaren::DecisionPolicy& m, const aaren::data::SequenceBatch& b) {
    const auto pred = m->forward(b.states, b.actions, b.returns_to_go, b.timesteps, b.mask);
    const auto steps = b.mask.sum();
    const auto sse = ((pred - b.actions).pow(2) * b.mask.unsqueeze(-1).to(torch::kFloat)).sum();
    return std::make_pair(sse / (steps * b.actions.size(2)).to(torch::kFloat), steps);
  };
  auto eager_step = [&](aaren::DecisionPolicy& m, torch::optim::AdamW& opt, const aaren::data::SequenceBatch& b,
                        double lr) {
    for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
    opt.zero_grad();
    const auto loss = loss_of(m, b).first;
    loss.backward();
    torch::nn::utils::clip_grad_norm_(m->parameters(), 0.25);
    opt.step();
    return loss.item<double>();
  };
  auto graphed = aaren::make_graphed_step(graph_model->parameters(), graph_opt, 0.25,
                                          [&](const aaren::data::SequenceBatch& b) { return loss_of(graph_model, b); });
  for (int64_t i = 0; i < 12; ++i) {
    const auto batch = batch_of(i);
    const double lr = 1e-3 * std::min(1.0, (i + 1) / 6.0);  // a warm-up: the captured rate must follow it
    const double expected = eager_step(eager_model, eager_opt, batch, lr);
    double got = 0;
    if (i < 3)
      graphed->on_graph_stream([&] { got = eager_step(graph_model, graph_opt, batch, lr); });
    else
      got = graphed->run(batch, lr).first;
    if (i == 7) {  // as an evaluation on the CPU does
      graphed->invalidate();
      graph_model->to(torch::kCPU), graph_model->to(torch::kCUDA);
    }
    INFO("update " << i);
    CHECK(std::abs(got - expected) <= 1e-5 * (1 + std::abs(expected)));
  }
  graphed->invalidate();
  double worst = 0, moved = 0;
  auto graph_params = graph_model->named_parameters();
  for (const auto& p : eager_model->named_parameters()) {
    worst = std::max(worst, max_abs_diff(graph_params[p.key()].cpu(), p.value().cpu()));
    moved = std::max(moved, max_abs_diff(p.value().cpu(), initial[p.key()]));  // the updates changed the weights
  }
  CHECK(worst < 1e-5);
  CHECK(moved > 0);
  for (auto& g : graph_opt.state())  // the step counts written back: 12 steps each
    CHECK(static_cast<torch::optim::AdamWParamState&>(*g.second).step() == 12);
}

int main(int argc, char** argv) {
  if (!torch::cuda::is_available()) {
    std::printf(
        "aaren_cuda_tests: skipped: LibTorch sees no CUDA GPU (a CPU-only LibTorch such as Debian's, "
        "or no device)\n");
    return 77;
  }
  aaren::keep_cuda_fp32_exact();  // as `--device cuda` does in the aaren program
  return Catch::Session().run(argc, argv);
}
