#include "base/allocator.h"

#include <cstdlib>
#include <string>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace aaren::base {

bool keep_freed_memory_for_reuse() {
#if defined(__GLIBC__)
  const char* keep_defaults = std::getenv("AAREN_DEFAULT_MALLOC");  // 1: glibc's own (scripts/bench-allocator.sh)
  if (keep_defaults != nullptr && std::string(keep_defaults) == "1") return false;
  for (const char* set_by_user : {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_"})
    if (std::getenv(set_by_user) != nullptr) return false;
  // glibc >= 2.26 also takes them as tunables, GLIBC_TUNABLES=glibc.malloc.mmap_threshold=...
  // (glibc manual, "Memory Allocation Tunables"); mallopt(3) here would override them.
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables != nullptr && std::string(tunables).find("glibc.malloc.") != std::string::npos) return false;
  constexpr int kMiB = 1 << 20;
  return mallopt(M_MMAP_THRESHOLD, 32 * kMiB) == 1 && mallopt(M_TRIM_THRESHOLD, 1024 * kMiB) == 1 &&
         mallopt(M_TOP_PAD, 256 * kMiB) == 1;
#else
  return false;
#endif
}

}  // namespace aaren::base
