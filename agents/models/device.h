// Where tensors live and in what precision the forward pass runs, for the
// trainer and the benchmarks: `--device cpu|cuda|cuda:N`, `--precision
// fp32|bf16`. bf16 is mixed precision (autocast): matrix products in bf16,
// parameters, optimiser, reductions and the Aaren scan state in fp32.
#pragma once

#include <c10/core/Device.h>

#include <string>

namespace aaren {

// "cpu", "cuda", "cuda:N". Throws std::invalid_argument naming `flag` when
// the text is not a device, or names a GPU that this LibTorch cannot use (a
// CPU-only LibTorch, such as Debian's, or no device visible). A CUDA device
// chosen here runs fp32 as IEEE fp32 (keep_cuda_fp32_exact).
c10::Device parse_device(const std::string& flag, const std::string& text);

// fp32 on a GPU means IEEE fp32, as on the CPU: TF32 tensor-core math (10-bit
// mantissa, Ampere and later) is switched off in cuBLAS and cuDNN for the whole
// process. LibTorch allows it in cuDNN by default, and cuDNN's RNNs take that
// switch (ATen's RNNDescriptor: CUDNN_DEFAULT_MATH, which permits TF32, unless
// it is off), so the LSTM's fp32 step would otherwise differ from the CPU's in
// the fourth digit. cuBLAS's default is already off (the matrix products of
// Aaren and the Transformer are unchanged). The switch does not touch bf16
// products (autocast); the LSTM's recurrence is fp32 even then (lstm_mixer.cpp).
// (LibTorch 2.9 and later may warn once that these setters are deprecated.)
void keep_cuda_fp32_exact();

// Throws std::invalid_argument naming `flag` unless text is fp32 or bf16.
void check_precision(const std::string& flag, const std::string& text);

// LibTorch's intra-op threads for this process (at::set_num_threads). When
// more than one is asked for and OMP_WAIT_POLICY is not set, it first looks
// for 0.1 s at how busy this process's cores are with other work, and prints
// base::shared_cores_warning's line on stderr when the threads do not fit
// (OpenMP's spinning threads then slow each other down many times over; the
// numbers are unchanged, so it warns and does not pick another count).
void set_cpu_threads(int threads);

// Waits for the work queued on a GPU (timing); nothing on the CPU.
void synchronize(const c10::Device& device);

// bf16 autocast for the device's type while alive (when `on`); restores the
// previous state and clears autocast's weight cache on exit.
class AutocastScope {
 public:
  AutocastScope(bool on, const c10::Device& device);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool on_ = false, cuda_ = false, was_enabled_ = false;
};

}  // namespace aaren
