// One AdamW step and gradient-norm clipping with no value read back to the
// host, so that a whole training step can be captured in a CUDA graph and
// replayed (a host number read during capture is frozen at its capture-time
// value: the learning rate during warm-up, Adam's bias corrections, the clip
// factor).
//
// The arithmetic is torch::optim::AdamW's (Loshchilov & Hutter 2019,
// "Decoupled Weight Decay Regularization", Algorithm 2, as LibTorch writes
// it: decay p by 1 - lr wd, m <- b1 m + (1 - b1) g, v <- b2 v + (1 - b2) g^2,
// p <- p - lr / (1 - b1^t) m / (sqrt(v) / sqrt(1 - b2^t) + eps)) and
// torch::nn::utils::clip_grad_norm_'s (scale by min(1, max / (||g|| + 1e-6))),
// with the step count, learning rate and factors as tensors on the
// parameters' device. It updates the state that torch::optim::AdamW keeps
// (its exp_avg and exp_avg_sq tensors, in place), so eager and captured
// steps can follow one another and checkpoints do not change.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace aaren {

class CapturableAdamW {
 public:
  // Over `optimizer`'s one parameter group, whose every parameter with a
  // gradient has taken at least one eager step (so its state exists; a
  // parameter without state is skipped, as AdamW skips one without gradient).
  explicit CapturableAdamW(torch::optim::AdamW& optimizer);
  // The learning rate of the following steps (a copy to the device: call it
  // outside capture).
  void set_lr(double lr);
  // One step; no host synchronisation.
  void step();
  // The step counts back into the optimizer's state (a host read: outside
  // capture, e.g. before a checkpoint).
  void write_back_step_counts();

 private:
  torch::optim::AdamW& optimizer_;
  struct Slot {
    torch::Tensor param, exp_avg, exp_avg_sq;
    torch::optim::OptimizerParamState* state;
  };
  std::vector<Slot> slots_;
  torch::Tensor lr_;    // float64, 0-dim, on the parameters' device
  torch::Tensor step_;  // float64, 0-dim: the steps taken (the same for every parameter)
  double beta1_, beta2_, eps_, weight_decay_;
};

// The state torch::optim::AdamW keeps for `param`, or null before its first
// step. (LibTorch keys it by the parameter's TensorImpl: as its address
// printed in 1.13, as the pointer itself in later releases.)
torch::optim::OptimizerParamState* adamw_state_of(torch::optim::AdamW& optimizer, const torch::Tensor& param);

// clip_grad_norm_ without a host read: every gradient scaled by
// min(1, max_norm / (total 2-norm + 1e-6)) on the device.
void clip_grad_norm_on_device(const std::vector<torch::Tensor>& parameters, double max_norm);

}  // namespace aaren
