#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "base/blas_kernels.h"

int main(int argc, char** argv) {
  aaren::base::prefer_native_blas_kernels();  // as the aaren program does: the same kernels, faster tests
  return Catch::Session().run(argc, argv);
}
