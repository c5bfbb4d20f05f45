// Tests whose prerequisite is missing: skipped or failed, never passed.
// (No LibTorch and no source-tree paths: the LibTorch-free test binary uses it too.)
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#include <catch2/catch.hpp>

namespace aaren::testing {

// Exit code that ctest reports as "Skipped" (SKIP_RETURN_CODE in tests/CMakeLists.txt).
constexpr int kSkipExitCode = 77;

}  // namespace aaren::testing

// A test that cannot run without `what` (e.g. h5py): where AAREN_TESTS_REQUIRE_ALL
// is set (CI and scripts/test.sh set it) the test fails; elsewhere the process
// ends with kSkipExitCode, which ctest reports as skipped (each ctest entry is
// one test case in its own process), never as passed.

#define AAREN_REQUIRE_PREREQUISITE(available, what)                                                \
  do {                                                                                             \
    if (!(available)) {                                                                            \
      const char* strict = std::getenv("AAREN_TESTS_REQUIRE_ALL");                                 \
      if (strict && *strict && std::string(strict) != "0") FAIL("missing prerequisite: " << what); \
      std::fprintf(stderr, "skipped: missing prerequisite: %s\n", std::string(what).c_str());      \
      std::fflush(nullptr);                                                                        \
      std::_Exit(::aaren::testing::kSkipExitCode);                                                 \
    }                                                                                              \
  } while (false)

// A check that needs something no Debian package provides, so that the suite
// cannot require it (Gymnasium's own model files): without it the test ends as
// skipped, which ctest reports, in strict mode too.
#define AAREN_SKIP_UNLESS_PROVIDED(available, what)                                   \
  do {                                                                                \
    if (!(available)) {                                                               \
      std::fprintf(stderr, "skipped: not provided: %s\n", std::string(what).c_str()); \
      std::fflush(nullptr);                                                           \
      std::_Exit(::aaren::testing::kSkipExitCode);                                    \
    }                                                                                 \
  } while (false)
