// base/allocator.h: the allocator's settings for training are applied on glibc,
// and left alone where the user set glibc's own variables for them.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "base/allocator.h"

TEST_CASE(
    "allocator: freed memory kept for reuse on glibc, unless asked not to or the user set MALLOC_TOP_PAD_, a malloc "
    "tunable and co.",
    "[base]") {
#if defined(__GLIBC__)
  // A user's own settings in the environment would decide the first check: saved and cleared here.
  std::vector<std::pair<std::string, std::string>> users;
  for (const char* name : {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_",
                           "AAREN_DEFAULT_MALLOC", "GLIBC_TUNABLES"})
    if (const char* value = std::getenv(name)) users.emplace_back(name, value), ::unsetenv(name);
  ::setenv("MALLOC_TOP_PAD_", "4096", 1);  // (read by glibc at start only: here it just says "the user chose")
  CHECK_FALSE(aaren::base::keep_freed_memory_for_reuse());
  ::unsetenv("MALLOC_TOP_PAD_");
  ::setenv("AAREN_DEFAULT_MALLOC", "1", 1);
  CHECK_FALSE(aaren::base::keep_freed_memory_for_reuse());
  ::unsetenv("AAREN_DEFAULT_MALLOC");
  ::setenv("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=1048576", 1);  // glibc's other way to set them
  CHECK_FALSE(aaren::base::keep_freed_memory_for_reuse());
  ::setenv("GLIBC_TUNABLES", "glibc.cpu.hwcaps=-AVX512F", 1);  // a tunable of something else: not a choice about malloc
  CHECK(aaren::base::keep_freed_memory_for_reuse());
  ::unsetenv("GLIBC_TUNABLES");
  CHECK(aaren::base::keep_freed_memory_for_reuse());  // every mallopt(3) call accepted
  for (const auto& [name, value] : users) ::setenv(name.c_str(), value.c_str(), 1);
#else
  CHECK_FALSE(aaren::base::keep_freed_memory_for_reuse());
#endif
}
