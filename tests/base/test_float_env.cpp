// The floating-point environment the aaren program and the test binaries
// start with (base/float_env.h): subnormal inputs and results read and
// written as zero, unless AAREN_KEEP_SUBNORMALS=1.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

#include "base/float_env.h"
#include "tests/prerequisite.h"

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

namespace {
// A product the compiler cannot fold: it runs on the CPU, under its MXCSR.
float times(float a, float b) {
  volatile float x = a, y = b;
  return x * y;
}
}  // namespace

TEST_CASE("float environment: subnormals are flushed to zero unless AAREN_KEEP_SUBNORMALS=1", "[base]") {
#if defined(__x86_64__) || defined(__i386__)
  const unsigned before = _mm_getcsr();
  const char* user = std::getenv("AAREN_KEEP_SUBNORMALS");
  const std::string users_value = user ? user : "";
  const std::uint32_t bits = 0x00000400u;  // 2^-139, made from its bits: arithmetic here may run flushed
  float subnormal = 0;
  std::memcpy(&subnormal, &bits, sizeof subnormal);
  REQUIRE(std::fpclassify(subnormal) == FP_SUBNORMAL);
  const float tiny = 1e-30f;      // normal; tiny * 1e-10 underflows
  _mm_setcsr(before & ~0x8040u);  // IEEE gradual underflow
  setenv("AAREN_KEEP_SUBNORMALS", "1", 1);
  CHECK_FALSE(aaren::base::flush_subnormals_unless_kept());
  CHECK(times(subnormal, 0x1p24f) == 0x1p-115f);  // a subnormal input, a normal result
  CHECK(times(tiny, 1e-10f) > 0.0f);              // 1e-40: a subnormal result
  unsetenv("AAREN_KEEP_SUBNORMALS");
  CHECK(aaren::base::flush_subnormals_unless_kept());
  CHECK(aaren::base::subnormals_flushed());
  CHECK(times(subnormal, 0x1p24f) == 0.0f);  // DAZ: the input reads as 0 (the result would be normal)
  CHECK(times(tiny, 1e-10f) == 0.0f);        // FTZ: the result is written as 0
  CHECK(times(tiny, 1e-7f) > 0.0f);          // 1e-37, a normal result, is kept
  _mm_setcsr(before);
  if (user) setenv("AAREN_KEEP_SUBNORMALS", users_value.c_str(), 1);
#else
  AAREN_REQUIRE_PREREQUISITE(false, "an x86 CPU (FTZ and DAZ are MXCSR bits)");
#endif
}
