#include "base/blas_kernels.h"

#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
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
