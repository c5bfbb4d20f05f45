// Devices and mixed precision on the CPU: the flags' errors, bf16 scan
// inputs scanned in fp32, and a bf16 autocast forward/backward of each
// backbone that tracks the fp32 one. (The GPU side: test_scan_cuda.cpp.)
#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include "agents/models/backbones.h"
#include "agents/models/decision_policy.h"
#include "agents/models/device.h"
#include "agents/scan/scan.h"
#include "tests/agents/decision_test_support.h"

TEST_CASE("device flags: cpu parses, and a GPU this LibTorch cannot use or a typo is a clear error", "[device]") {
  CHECK(aaren::parse_device("--device", "cpu").is_cpu());
  CHECK_THROWS_WITH(aaren::parse_device("--device", "gpu"), Catch::Contains("--device must be cpu, cuda or cuda:N"));
  if (!torch::cuda::is_available())
    CHECK_THROWS_WITH(aaren::parse_device("--device", "cuda"), Catch::Contains("sees no CUDA GPU"));
  CHECK_NOTHROW(aaren::check_precision("--precision", "bf16"));
  CHECK_THROWS_WITH(aaren::check_precision("--precision", "fp16"), Catch::Contains("--precision must be fp32 or bf16"));
}

TEST_CASE("mixed precision: bf16 scores and values are scanned in fp32, state included", "[device]") {
  torch::manual_seed(5);
  const auto s = (torch::randn({2, 2, 300}) * 4).to(torch::kBFloat16);
  const auto v = torch::randn({2, 2, 300, 16}).to(torch::kBFloat16).requires_grad_(true);
  const auto r = aaren::scan_fast(s, v);
  CHECK(r.out.scalar_type() == torch::kFloat32);
  CHECK(r.final.u.scalar_type() == torch::kFloat32);
  CHECK(r.final.w.scalar_type() == torch::kFloat32);
  const auto ref = aaren::scan_fast(s.to(torch::kFloat32), v.detach().to(torch::kFloat32));
  CHECK(torch::equal(r.out, ref.out));
  r.out.sum().backward();
  CHECK(v.grad().scalar_type() == torch::kBFloat16);  // gradients come back in the inputs' dtype
}

TEST_CASE("mixed precision: a bf16 autocast step of each backbone and token layout tracks the fp32 step", "[device]") {
  // fused: its per-part LayerNorms see the bf16 embeddings (they once refused them).
  for (const auto& descriptor : aaren::backbone_descriptors())
    for (const std::string layout : {"interleaved", "fused", "fused-sum"}) {
      const std::string& kind = descriptor.name;
      INFO(kind << ", " << layout);
      torch::manual_seed(6);
      auto config = aaren::testing::small_decision_config(kind);
      aaren::testing::set_token_layout(config, layout);
      aaren::DecisionPolicy model(config);
      const auto batch = aaren::testing::random_decision_batch(4, 30);
      const auto &states = batch.states, &actions = batch.actions, &rtg = batch.returns_to_go, &steps = batch.timesteps;
      auto loss_and_grad = [&](bool bf16) {
        model->zero_grad();
        torch::Tensor pred;
        {
          const aaren::AutocastScope amp(bf16, torch::kCPU);
          pred = model->forward(states, actions, rtg, steps);
        }
        if (bf16) CHECK(pred.scalar_type() == torch::kBFloat16);
        const auto loss = (pred.to(torch::kFloat) - actions).pow(2).mean();
        loss.backward();
        std::vector<torch::Tensor> grads;
        for (const auto& p : model->parameters()) grads.push_back(p.grad().flatten().clone());
        return std::make_pair(loss.item<double>(), torch::cat(grads));
      };
      const auto [loss32, grad32] = loss_and_grad(false);
      const auto [loss16, grad16] = loss_and_grad(true);
      CHECK(std::isfinite(loss16));
      CHECK(std::abs(loss16 - loss32) < 0.02 * loss32);
      // bf16 has 8 bits of mantissa: directions agree, values to a few percent.
      const double cosine = (grad16 * grad32).sum().item<double>() / (grad16.norm() * grad32.norm()).item<double>();
      CHECK(cosine > 0.99);
      CHECK(!at::autocast::is_cpu_enabled());  // the scope restored the previous state
    }
}
