#include "bench/report.h"

#include <ATen/Parallel.h>
#include <ATen/Version.h>

#include <fstream>
#include <thread>

#include "agents/models/attention_cpu.h"
#include "base/allocator.h"
#include "base/blas_kernels.h"
#include "base/float_env.h"

namespace aaren::bench {

namespace {
// ATen's vectorised kernel set ("AVX2", "AVX512", "DEFAULT"), as LibTorch's
// build summary reports it (LibTorch exports no accessor for it).
std::string aten_cpu_capability() {
  const std::string config = at::show_config(), key = "CPU capability usage: ";
  const auto at = config.find(key);
  if (at == std::string::npos) return "";
  const auto begin = at + key.size();
  return config.substr(begin, config.find('\n', begin) - begin);
}
}  // namespace

nlohmann::json machine_info() {
  std::string cpu = "unknown";
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      cpu = line.substr(line.find(':') + 2);
      break;
    }
  }
  return {{"cpu", cpu},
          {"hardware_threads", std::thread::hardware_concurrency()},
          {"torch_threads", at::get_num_threads()},
          {"blas_kernels", base::blas_kernels()},      // OpenBLAS's kernel set ("" for another BLAS)
          {"blas_threading", base::blas_threading()},  // its threads: "openmp", "pthreads", "sequential"
          {"aten_cpu_capability", aten_cpu_capability()},
          {"reproducible", base::reproducible_mode()},         // AAREN_REPRODUCIBLE=1: the pinned kernels
          {"subnormals_flushed", base::subnormals_flushed()},  // FTZ and DAZ (base/float_env.h)
          {"allocator", base::allocator_setting()},            // glibc's malloc settings (base/allocator.h)
          {"fused_cpu_attention",
           fused_attention_built()}};  // the Transformer's CPU attention: fused (CBLAS) or LibTorch's
}

}  // namespace aaren::bench
