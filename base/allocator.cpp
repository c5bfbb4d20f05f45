#include "base/allocator.h"

#include <cstdlib>
#include <string>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace aaren::base {

namespace {
// Whether the user chose this setting: its environment variable (even empty), or
// its tunable in GLIBC_TUNABLES (glibc >= 2.26; glibc manual, "Memory
// Allocation Tunables"), both read by glibc at start; mallopt(3) would override them.
bool chosen_by_user(const std::string& variable, const std::string& tunable) {
  if (std::getenv(variable.c_str()) != nullptr) return true;
  const char* tunables = std::getenv("GLIBC_TUNABLES");  // name=value pairs separated by ':'
  if (tunables == nullptr) return false;
  const std::string list = std::string(":") + tunables;
  return list.find(":glibc.malloc." + tunable + "=") != std::string::npos;
}
}  // namespace

std::vector<std::string> keep_freed_memory_for_reuse() {
  std::vector<std::string> set;
#if defined(__GLIBC__)
  const char* keep_defaults = std::getenv("AAREN_DEFAULT_MALLOC");  // 1: glibc's own (scripts/bench-allocator.sh)
  if (keep_defaults != nullptr && std::string(keep_defaults) == "1") return set;
  constexpr int kMiB = 1 << 20;
  struct Setting {
    const char* variable;
    const char* tunable;
    int parameter;
    int value;
  };
  for (const Setting& s : {Setting{"MALLOC_MMAP_THRESHOLD_", "mmap_threshold", M_MMAP_THRESHOLD, 32 * kMiB},
                           Setting{"MALLOC_TRIM_THRESHOLD_", "trim_threshold", M_TRIM_THRESHOLD, 1024 * kMiB},
                           Setting{"MALLOC_TOP_PAD_", "top_pad", M_TOP_PAD, 256 * kMiB}})
    if (!chosen_by_user(s.variable, s.tunable) && mallopt(s.parameter, s.value) == 1) set.emplace_back(s.variable);
#endif
  return set;
}

}  // namespace aaren::base
