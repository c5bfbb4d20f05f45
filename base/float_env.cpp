#include "base/float_env.h"

#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <pmmintrin.h>  // _MM_SET_DENORMALS_ZERO_MODE (SSE3)
#include <xmmintrin.h>  // _MM_SET_FLUSH_ZERO_MODE (SSE)
#endif

namespace aaren::base {

bool flush_subnormals_unless_kept() {
  const char* keep = std::getenv("AAREN_KEEP_SUBNORMALS");
  if (keep && std::strcmp(keep, "1") == 0) return subnormals_flushed();
#if defined(__x86_64__) || defined(__i386__)
  _MM_SET_FLUSH_ZERO_MODE(_MM_FLUSH_ZERO_ON);
  _MM_SET_DENORMALS_ZERO_MODE(_MM_DENORMALS_ZERO_ON);
#endif
  return subnormals_flushed();
}

bool subnormals_flushed() {
#if defined(__x86_64__) || defined(__i386__)
  return _MM_GET_FLUSH_ZERO_MODE() == _MM_FLUSH_ZERO_ON && _MM_GET_DENORMALS_ZERO_MODE() == _MM_DENORMALS_ZERO_ON;
#else
  return false;
#endif
}

}  // namespace aaren::base
