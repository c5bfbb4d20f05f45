// Dropout (Srivastava et al. 2014) with a cheap mask on the CPU.
//
// LibTorch 1.13 without MKL draws a CPU dropout mask element by element from
// MT19937 (bernoulli_, about 7 ns an element): DT's six dropouts per update
// took 50-70 ms of a 350 ms update (batch 64, K = 20). Here the mask comes
// from a counter-based hash (SplitMix64) of one 64-bit key drawn from
// LibTorch's default CPU generator: the same distribution (each element kept
// with probability 1 - p, quantised to 2^-16, and scaled by 1 / (1 - p)),
// reproducible from the generator's state (so --resume stays exact), the same
// for any thread count, and about 10x cheaper. CUDA tensors use torch::dropout.
#pragma once

#include <torch/torch.h>

namespace aaren {

torch::Tensor fast_dropout(const torch::Tensor& x, double p, bool training);

class DropoutImpl : public torch::nn::Module {
 public:
  explicit DropoutImpl(double p) : p_(p) {}
  torch::Tensor forward(const torch::Tensor& x) { return fast_dropout(x, p_, is_training()); }

 private:
  double p_;
};
TORCH_MODULE(Dropout);

}  // namespace aaren
