// base/allocator.h: the allocator's settings for training are applied on glibc,
// each left alone where the user set it by glibc's own variable or tunable.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "base/allocator.h"

TEST_CASE(
    "allocator: freed memory kept for reuse on glibc, each setting the user chose (MALLOC_TOP_PAD_, a tunable) left "
    "alone, none when asked, and the setting named for provenance",
    "[base]") {
#if defined(__GLIBC__)
  using Names = std::vector<std::string>;
  const Names all{"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_"};
  // A user's own settings in the environment would decide the checks: saved and cleared here.
  std::vector<std::pair<std::string, std::string>> users;
  for (const char* name : {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_",
                           "AAREN_DEFAULT_MALLOC", "GLIBC_TUNABLES"})
    if (const char* value = std::getenv(name)) users.emplace_back(name, value), ::unsetenv(name);
  // (glibc reads these at start only: here they just say "the user chose")
  ::setenv("MALLOC_TOP_PAD_", "", 1);  // set, even empty
  CHECK(aaren::base::keep_freed_memory_for_reuse() == Names{"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"});
  CHECK(aaren::base::allocator_setting() ==
        "kept for reuse (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_), the user's: MALLOC_TOP_PAD_=");
  ::unsetenv("MALLOC_TOP_PAD_");
  ::setenv("AAREN_DEFAULT_MALLOC", "1", 1);
  CHECK(aaren::base::keep_freed_memory_for_reuse().empty());
  CHECK(aaren::base::allocator_setting() == "glibc's defaults (AAREN_DEFAULT_MALLOC=1)");
  ::unsetenv("AAREN_DEFAULT_MALLOC");
  ::setenv("GLIBC_TUNABLES", "glibc.malloc.arena_max=2:glibc.malloc.trim_threshold=1048576", 1);
  CHECK(aaren::base::keep_freed_memory_for_reuse() == Names{"MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_"});
  CHECK(aaren::base::allocator_setting() ==
        "kept for reuse (MALLOC_MMAP_THRESHOLD_, MALLOC_TOP_PAD_), the user's: glibc.malloc.arena_max=2 "
        "glibc.malloc.trim_threshold=1048576");
  ::setenv("GLIBC_TUNABLES", "glibc.malloc.top_pad=1:glibc.cpu.hwcaps=-AVX512F", 1);  // first in the list
  CHECK(aaren::base::keep_freed_memory_for_reuse() == Names{"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"});
  ::setenv("GLIBC_TUNABLES", "glibc.malloc.arena_max=2:glibc.cpu.x86_top_pad=1", 1);  // other tunables: not these
  CHECK(aaren::base::keep_freed_memory_for_reuse() == all);
  ::unsetenv("GLIBC_TUNABLES");
  CHECK(aaren::base::keep_freed_memory_for_reuse() == all);     // every mallopt(3) call accepted
  CHECK(aaren::base::allocator_setting() == "kept for reuse");  // as a run's provenance records it
  for (const auto& [name, value] : users) ::setenv(name.c_str(), value.c_str(), 1);
#else
  CHECK(aaren::base::keep_freed_memory_for_reuse().empty());
  CHECK(aaren::base::allocator_setting() == "the C library's");
#endif
}
