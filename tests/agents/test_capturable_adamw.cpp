// The optimizer step a CUDA graph can capture (agents/training/capturable_adamw.h)
// against LibTorch's own AdamW and clip_grad_norm_, on the CPU: eager steps,
// then captured-style steps on the same state, then eager again, equal a run
// of eager steps alone, with the learning rate changing on the way (warm-up).
#include <catch2/catch.hpp>

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "agents/checkpoint/train_config.h"
#include "agents/training/capturable_adamw.h"

namespace {

// Two parameters and a gradient for each step, the same in both runs.
struct AdamwProblem {
  std::vector<torch::Tensor> params;
  explicit AdamwProblem(uint64_t seed) {
    torch::manual_seed(seed);
    params = {torch::randn({7, 5}).requires_grad_(), torch::randn({5}).requires_grad_()};
  }
  void set_grads(int64_t step) {
    torch::manual_seed(1000 + step);
    for (auto& p : params) p.mutable_grad() = torch::randn_like(p) * (step % 3 == 0 ? 10.0 : 0.1);
  }
};

double learning_rate(int64_t step) { return 1e-3 * std::min<double>(1.0, (step + 1) / 5.0); }

double max_difference(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, (a[i] - b[i]).abs().max().item<double>());
  return worst;
}

}  // namespace

TEST_CASE("Capturable AdamW and clipping == LibTorch's AdamW and clip_grad_norm_, across eager/captured switches",
          "[training]") {
  const auto options = torch::optim::AdamWOptions(1e-3).weight_decay(1e-4);
  AdamwProblem eager(3), mixed(3);
  torch::optim::AdamW eager_opt(eager.params, options), mixed_opt(mixed.params, options);
  auto set_lr = [](torch::optim::AdamW& opt, double lr) {
    for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
  };
  std::unique_ptr<aaren::CapturableAdamW> captured;
  for (int64_t step = 0; step < 15; ++step) {
    eager.set_grads(step), mixed.set_grads(step);
    torch::nn::utils::clip_grad_norm_(eager.params, 0.25);
    set_lr(eager_opt, learning_rate(step));
    eager_opt.step();
    const bool capturable = step >= 3 && step < 12;  // 3 eager steps first, 3 eager again at the end
    if (capturable) {
      if (!captured) captured = std::make_unique<aaren::CapturableAdamW>(mixed_opt);
      aaren::clip_grad_norm_on_device(mixed.params, 0.25);
      captured->set_lr(learning_rate(step));
      captured->step();
    } else {
      if (captured) captured->write_back_step_counts(), captured.reset();
      torch::nn::utils::clip_grad_norm_(mixed.params, 0.25);
      set_lr(mixed_opt, learning_rate(step));
      mixed_opt.step();
    }
    INFO("step " << step);
    CHECK(max_difference(eager.params, mixed.params) < 1e-6);
  }
  // The optimizer states agree too (step counts written back, moments in place).
  for (size_t i = 0; i < eager.params.size(); ++i) {
    auto* sa = aaren::adamw_state_of(eager_opt, eager.params[i]);
    auto* sb = aaren::adamw_state_of(mixed_opt, mixed.params[i]);
    REQUIRE(sa);
    REQUIRE(sb);
    auto& a = static_cast<torch::optim::AdamWParamState&>(*sa);
    auto& b = static_cast<torch::optim::AdamWParamState&>(*sb);
    CHECK(a.step() == 15);
    CHECK(b.step() == 15);
    CHECK((a.exp_avg_sq() - b.exp_avg_sq()).abs().max().item<double>() < 1e-6);
  }
  // The parameters moved: the comparison is not of two unchanged copies.
  CHECK(max_difference(eager.params, AdamwProblem(3).params) > 1e-3);
}

TEST_CASE("Device-side clipping scales by min(1, max / norm) as clip_grad_norm_ does", "[training]") {
  for (const double scale : {0.01, 100.0}) {
    AdamwProblem a(5), b(5);
    a.set_grads(3), b.set_grads(3);
    for (auto* pr : {&a, &b})
      for (auto& p : pr->params) p.mutable_grad().mul_(scale);
    torch::nn::utils::clip_grad_norm_(a.params, 0.25);
    aaren::clip_grad_norm_on_device(b.params, 0.25);
    std::vector<torch::Tensor> ga, gb;
    for (size_t i = 0; i < a.params.size(); ++i) ga.push_back(a.params[i].grad()), gb.push_back(b.params[i].grad());
    INFO("scale " << scale);
    CHECK(max_difference(ga, gb) == 0.0);
  }
  AdamwProblem none(1);  // no gradients: nothing to do
  aaren::clip_grad_norm_on_device(none.params, 0.25);
  CHECK_FALSE(none.params[0].grad().defined());
}

TEST_CASE("train: --cuda-graphs is refused in one line where a step cannot be captured", "[training]") {
  auto refused = [](const aaren::TrainConfig& c) {
    try {
      c.validate();
    } catch (const std::invalid_argument& e) {
      const std::string message = e.what();
      CHECK(message.find('\n') == std::string::npos);  // one line
      return message;
    }
    return std::string();
  };
  aaren::TrainConfig c;
  c.dataset = "data.hdf5", c.out_dir = "out", c.backbone = aaren::BackboneKind::kTransformer, c.cuda_graphs = true;
  CHECK(refused(c) == "--cuda-graphs 1 needs --device cuda");
  // (Checked before the device, so that a CPU-only build tests these too.)
  for (auto change : std::vector<std::function<void(aaren::TrainConfig&)>>{
           [](aaren::TrainConfig& x) { x.precision = "bf16"; },
           [](aaren::TrainConfig& x) { x.backbone = aaren::BackboneKind::kAaren; },  // whole episodes: shapes vary
       }) {
    auto other = c;
    change(other);
    CHECK(refused(other).rfind("--cuda-graphs 1 captures DT's windows on one rank in fp32", 0) == 0);
  }
  c.cuda_graphs = false, c.device = "cpu";
  CHECK(refused(c).empty());
}
