#include "bench/report.h"

#include <ATen/Parallel.h>

#include <fstream>
#include <thread>

#include "base/blas_kernels.h"

namespace aaren::bench {

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
          {"blas_kernels", base::blas_kernels()}};  // OpenBLAS's kernel set ("" for another BLAS)
}

}  // namespace aaren::bench
