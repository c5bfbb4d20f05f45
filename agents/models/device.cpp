#include "agents/models/device.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <stdexcept>

#include "base/cpu_load.h"

// LibTorch 2.4 made the autocast switches per device type.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define AAREN_AUTOCAST_BY_DEVICE_TYPE 1
#endif

namespace aaren {

c10::Device parse_device(const std::string& flag, const std::string& text) {
  c10::optional<c10::Device> device;
  try {
    device = c10::Device(text);
  } catch (const c10::Error&) {
  }
  if (!device || !(device->is_cpu() || device->is_cuda()))
    throw std::invalid_argument(flag + " must be cpu, cuda or cuda:N, got '" + text + "'");
  if (device->is_cuda()) {
    if (!torch::cuda::is_available())
      throw std::invalid_argument(flag + " " + text +
                                  ": this LibTorch sees no CUDA GPU (a CPU-only LibTorch such as Debian's, or no "
                                  "device); build against a CUDA LibTorch, see README 'GPU'");
    if (device->has_index() && device->index() >= static_cast<int64_t>(torch::cuda::device_count()))
      throw std::invalid_argument(flag + " " + text + ": only " + std::to_string(torch::cuda::device_count()) +
                                  " CUDA device(s) visible");
    keep_cuda_fp32_exact();
  }
  return *device;
}

void keep_cuda_fp32_exact() {
  at::globalContext().setAllowTF32CuDNN(false);
  at::globalContext().setAllowTF32CuBLAS(false);
}

void check_precision(const std::string& flag, const std::string& text) {
  if (text != "fp32" && text != "bf16") throw std::invalid_argument(flag + " must be fp32 or bf16, got '" + text + "'");
}

void synchronize(const c10::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.has_index() ? device.index() : -1);
}

AutocastScope::AutocastScope(bool on, const c10::Device& device) : on_(on), cuda_(device.is_cuda()) {
  if (!on_) return;
#ifdef AAREN_AUTOCAST_BY_DEVICE_TYPE
  const auto type = cuda_ ? at::kCUDA : at::kCPU;
  was_enabled_ = at::autocast::is_autocast_enabled(type);
  at::autocast::set_autocast_dtype(type, at::kBFloat16);
  at::autocast::set_autocast_enabled(type, true);
#else
  if (cuda_) {
    was_enabled_ = at::autocast::is_enabled();
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    at::autocast::set_enabled(true);
  } else {
    was_enabled_ = at::autocast::is_cpu_enabled();
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_cpu_enabled(true);
  }
#endif
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!on_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#ifdef AAREN_AUTOCAST_BY_DEVICE_TYPE
  at::autocast::set_autocast_enabled(cuda_ ? at::kCUDA : at::kCPU, was_enabled_);
#else
  if (cuda_)
    at::autocast::set_enabled(was_enabled_);
  else
    at::autocast::set_cpu_enabled(was_enabled_);
#endif
}

void set_cpu_threads(int threads) {
  at::set_num_threads(threads);
  if (threads <= 1 || std::getenv("OMP_WAIT_POLICY")) return;
  const auto busy = base::cores_busy_with_other_work(std::chrono::milliseconds(100));
  if (!busy) return;
  const std::string warning = base::shared_cores_warning(threads, *busy, base::usable_cpus());
  if (!warning.empty()) std::cerr << "warning: " << warning << "\n";
}

}  // namespace aaren
