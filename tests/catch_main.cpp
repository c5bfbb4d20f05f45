#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "base/blas_kernels.h"
#include "base/float_env.h"

int main(int argc, char** argv) {
  aaren::base::prefer_native_blas_kernels();  // as the aaren program does: the same kernels, faster tests
#ifdef AAREN_TESTS_FLUSH_SUBNORMALS
  // aaren_tests: the floating-point environment of the aaren program. The lean
  // runtime's tests keep IEEE subnormals, as the host programs it is for do.
  aaren::base::flush_subnormals_unless_kept();
#endif
  Catch::Session session;
  if (const int error = session.applyCommandLine(argc, argv)) return error;
  // Always: a test spec that matches no test fails (it would pass silently),
  // and so does a test case that ran no assertion (Catch2 v2 takes one -w flag
  // on its command line, so both are set here).
  auto& config = session.configData();
  config.warnings =
      static_cast<Catch::WarnAbout::What>(config.warnings | Catch::WarnAbout::NoTests | Catch::WarnAbout::NoAssertions);
  return session.run();
}
