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

// Ends the test process as skipped (each ctest entry is one test case in its own process).
[[noreturn]] inline void exit_skipped(const std::string& why) {
  std::fprintf(stderr, "skipped: %s\n", why.c_str());
  std::fflush(nullptr);
  std::_Exit(kSkipExitCode);
}

// A check that needs something no Debian package provides, so that the suite
// cannot require it (Gymnasium's own model files): without it the test ends as
// skipped, which ctest reports, in strict mode too.
inline void skip_unless_provided(bool available, const std::string& what) {
  if (!available) exit_skipped("not provided: " + what);
}

// AAREN_TESTS_REQUIRE_ALL set to anything but "" or "0" (CI and scripts/test.sh set it).
inline bool tests_require_all() {
  const char* strict = std::getenv("AAREN_TESTS_REQUIRE_ALL");
  return strict && *strict && std::string(strict) != "0";
}

}  // namespace aaren::testing

// A test that cannot run without `what` (e.g. h5py): where every prerequisite is
// required (tests_require_all) the test fails; elsewhere it ends as skipped,
// never as passed. A macro: FAIL belongs to the test case that calls it.
#define AAREN_REQUIRE_PREREQUISITE(available, what)                                      \
  do {                                                                                   \
    if (!(available)) {                                                                  \
      if (::aaren::testing::tests_require_all()) FAIL("missing prerequisite: " << what); \
      ::aaren::testing::exit_skipped("missing prerequisite: " + std::string(what));      \
    }                                                                                    \
  } while (false)
