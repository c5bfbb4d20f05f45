#include "agents/training/capturable_adamw.h"

#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace aaren {

namespace {

torch::optim::AdamWParamState& state_of(torch::optim::OptimizerParamState& s) {
  return static_cast<torch::optim::AdamWParamState&>(s);
}

}  // namespace

namespace {

// (A template, so that only the branch of this LibTorch's key type is compiled.)
template <typename Map>
typename Map::iterator find_state(Map& states, void* impl) {
  if constexpr (std::is_same_v<typename Map::key_type, std::string>) {
    std::ostringstream key;  // what c10::guts::to_string(impl) writes
    key << impl;
    return states.find(key.str());
  } else {
    return states.find(impl);
  }
}

}  // namespace

torch::optim::OptimizerParamState* adamw_state_of(torch::optim::AdamW& optimizer, const torch::Tensor& param) {
  auto& states = optimizer.state();
  const auto found = find_state(states, param.unsafeGetTensorImpl());
  return found == states.end() ? nullptr : found->second.get();
}

CapturableAdamW::CapturableAdamW(torch::optim::AdamW& optimizer) : optimizer_(optimizer) {
  if (optimizer.param_groups().size() != 1)
    throw std::invalid_argument("CapturableAdamW: expected one parameter group");
  auto& group = optimizer.param_groups().front();
  const auto& options = static_cast<const torch::optim::AdamWOptions&>(group.options());
  if (options.amsgrad()) throw std::invalid_argument("CapturableAdamW: amsgrad is not supported");
  beta1_ = std::get<0>(options.betas()), beta2_ = std::get<1>(options.betas());
  eps_ = options.eps(), weight_decay_ = options.weight_decay();
  int64_t steps = -1;
  for (auto& p : group.params()) {
    auto* found = adamw_state_of(optimizer, p);
    if (!found) continue;
    auto& s = state_of(*found);
    if (steps >= 0 && s.step() != steps)
      throw std::invalid_argument("CapturableAdamW: parameters have taken different numbers of steps");
    steps = s.step();
    slots_.push_back({p, s.exp_avg(), s.exp_avg_sq(), found});
  }
  if (slots_.empty()) throw std::invalid_argument("CapturableAdamW: no parameter has taken an eager step");
  const auto on = torch::TensorOptions().dtype(torch::kDouble).device(slots_.front().param.device());
  step_ = torch::full({}, static_cast<double>(steps), on);
  lr_ = torch::full({}, options.lr(), on);
}

void CapturableAdamW::set_lr(double lr) { lr_.fill_(lr); }

void CapturableAdamW::step() {
  torch::NoGradGuard no_grad;
  step_.add_(1.0);
  // Computed in float64 and cast to the parameters' type where they meet
  // them, as LibTorch's AdamW computes its host scalars.
  const auto decay = 1.0 - lr_ * weight_decay_;
  const auto bias_correction1 = 1.0 - torch::pow(beta1_, step_);
  const auto sqrt_bias_correction2 = torch::sqrt(1.0 - torch::pow(beta2_, step_));
  const auto neg_step_size = -lr_ / bias_correction1;
  for (auto& slot : slots_) {
    const auto& grad = slot.param.grad();
    if (!grad.defined()) continue;
    if (weight_decay_ != 0) slot.param.mul_(decay);
    slot.exp_avg.mul_(beta1_).add_(grad, 1 - beta1_);
    slot.exp_avg_sq.mul_(beta2_).addcmul_(grad, grad, 1 - beta2_);
    const auto denom = (slot.exp_avg_sq.sqrt() / sqrt_bias_correction2).add_(eps_);
    slot.param.add_(slot.exp_avg / denom * neg_step_size);
  }
}

void CapturableAdamW::write_back_step_counts() {
  const auto steps = static_cast<int64_t>(step_.item<double>());
  for (auto& slot : slots_) state_of(*slot.state).step(steps);
}

void clip_grad_norm_on_device(const std::vector<torch::Tensor>& parameters, double max_norm) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> norms;
  for (const auto& p : parameters)
    if (p.grad().defined()) norms.push_back(p.grad().norm(2));
  if (norms.empty()) return;
  const auto total = torch::stack(norms).norm(2);
  const auto factor = torch::clamp_max(max_norm / (total + 1e-6), 1.0);
  for (const auto& p : parameters)
    if (p.grad().defined()) p.grad().mul_(factor);
}

}  // namespace aaren
