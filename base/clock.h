// One monotonic clock for progress lines, rates and benchmarks.
#pragma once

#include <chrono>

namespace aaren::base {

// Seconds since an arbitrary start; never goes back (steady_clock), so
// differences are durations even when the wall clock is set.
inline double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace aaren::base
