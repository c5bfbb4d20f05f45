#include "base/blas_kernels.h"

#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string>
#include <vector>

namespace aaren::base {

namespace {

using CorenameFn = char* (*)();
using InitFn = void (*)();

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// The kernel set this CPU's instructions call for (OpenBLAS's names), or "".
const char* native_kernels() {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
  return "";
}

// Whether OpenBLAS's choice already uses the instructions `native` names.
bool good_enough(const std::string& chosen, const std::string& native) {
  static const char* avx512[] = {"skylakex", "cooperlake", "sapphirerapids"};
  static const char* avx2[] = {"haswell", "zen", "skylakex", "cooperlake", "sapphirerapids"};
  const auto& accepted = native == "SkylakeX" ? std::vector<const char*>(std::begin(avx512), std::end(avx512))
                                              : std::vector<const char*>(std::begin(avx2), std::end(avx2));
  return std::any_of(accepted.begin(), accepted.end(), [&](const char* name) { return chosen == name; });
}

}  // namespace

std::string blas_kernels() {
  const auto corename = reinterpret_cast<CorenameFn>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  return corename ? std::string(corename()) : std::string();
}

std::string blas_threading() {
  using ParallelFn = int (*)();
  const auto parallel = reinterpret_cast<ParallelFn>(dlsym(RTLD_DEFAULT, "openblas_get_parallel"));
  if (!parallel) return "";
  switch (parallel()) {  // OpenBLAS's openblas_get_parallel: 0 sequential, 1 pthreads, 2 OpenMP
    case 0:
      return "sequential";
    case 1:
      return "pthreads";
    default:
      return "openmp";
  }
}

bool reproducible_mode() {
  const char* mode = std::getenv("AAREN_REPRODUCIBLE");
  return mode && std::string(mode) == "1";
}

std::string apply_reproducible_mode() {
  if (!reproducible_mode()) return "";
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
    return "AAREN_REPRODUCIBLE=1 needs a CPU with AVX2 and FMA (its kernels are those of Haswell); this one lacks them";
#else
  return "AAREN_REPRODUCIBLE=1 is defined for x86-64 CPUs only";
#endif
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  if (coretype && lower(coretype) != "haswell")
    return std::string("AAREN_REPRODUCIBLE=1 runs OpenBLAS's Haswell kernels, but OPENBLAS_CORETYPE=") + coretype +
           " is set; unset it or set it to Haswell";
  setenv("ATEN_CPU_CAPABILITY", "avx2", 1);  // read at ATen's first dispatch, after this
  setenv("ONEDNN_MAX_CPU_ISA", "AVX2", 1);
  setenv("DNNL_MAX_CPU_ISA", "AVX2", 1);  // oneDNN's older name for it
  if (lower(blas_kernels()) != "haswell") {
    setenv("OPENBLAS_CORETYPE", "Haswell", 1);  // also what child processes (ranks) load with
    const auto quit = reinterpret_cast<InitFn>(dlsym(RTLD_DEFAULT, "gotoblas_dynamic_quit"));
    const auto init = reinterpret_cast<InitFn>(dlsym(RTLD_DEFAULT, "gotoblas_dynamic_init"));
    if (quit && init) quit(), init();
    if (!blas_kernels().empty() && lower(blas_kernels()) != "haswell")
      return "AAREN_REPRODUCIBLE=1: OpenBLAS would not switch to its Haswell kernels (it runs " + blas_kernels() + ")";
  }
  setenv("OPENBLAS_CORETYPE", "Haswell", 1);
  return "";
}

void prefer_native_blas_kernels() {
  if (std::getenv("OPENBLAS_CORETYPE")) return;  // the user's choice
  const std::string native = native_kernels();
  const auto chosen = lower(blas_kernels());
  if (native.empty() || chosen.empty() || good_enough(chosen, lower(native))) return;
  // OpenBLAS (DYNAMIC_ARCH builds, as Debian's) exports its dispatch set-up:
  // quit forgets the chosen kernel table, init picks again and reads
  // OPENBLAS_CORETYPE. No product has run yet, so no buffer is in use.
  const auto quit = reinterpret_cast<InitFn>(dlsym(RTLD_DEFAULT, "gotoblas_dynamic_quit"));
  const auto init = reinterpret_cast<InitFn>(dlsym(RTLD_DEFAULT, "gotoblas_dynamic_init"));
  if (!quit || !init) return;
  setenv("OPENBLAS_CORETYPE", native.c_str(), 1);  // also what child processes (ranks) load with
  quit();
  init();
}

}  // namespace aaren::base
