// The test binary's main, like the aaren program's, re-initialises OpenBLAS
// with the kernels this CPU's instructions call for when it picked older ones
// (base/blas_kernels.h). Checked where the BLAS is OpenBLAS, as scripts/setup.sh
// configures it.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <cctype>
#include <cstdlib>
#include <string>

#include "base/blas_kernels.h"

namespace {
std::string lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}
}  // namespace

// Without OPENBLAS_CORETYPE: the CPU's own kernels. With it: the user's choice,
// which aaren keeps (many machines set it to avoid OpenBLAS bugs).
TEST_CASE("OpenBLAS runs the kernels of this CPU's instruction set, or the ones OPENBLAS_CORETYPE names",
          "[blas][environment]") {
  const std::string kernels = aaren::base::blas_kernels();
  INFO("OpenBLAS kernels: '" << kernels << "'");
  REQUIRE_FALSE(kernels.empty());  // Debian's LibTorch through OpenBLAS (scripts/setup.sh)
  const char* user_choice = std::getenv("OPENBLAS_CORETYPE");
  if (user_choice && *user_choice) {
    INFO("OPENBLAS_CORETYPE=" << user_choice);
    CHECK(lower(kernels) == lower(user_choice));
    return;
  }
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
                      __builtin_cpu_supports("avx512cd");
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else  // another instruction set: OpenBLAS's own choice is all there is to check (not empty, above)
  const bool avx512 = false, avx2 = false;
#endif
  const std::string k = kernels;
  const bool has_avx512_kernels = k == "SkylakeX" || k == "Cooperlake" || k == "SapphireRapids";
  const bool has_avx2_kernels = has_avx512_kernels || k == "Haswell" || k == "Zen";
  if (avx512) CHECK(has_avx512_kernels);
  if (avx2) CHECK(has_avx2_kernels);
}

TEST_CASE("OpenBLAS's products are right with the kernels it runs (a float64 reference)", "[blas][environment]") {
  torch::manual_seed(3);
  const auto a = torch::randn({130, 70}), b = torch::randn({70, 90});
  const auto exact = torch::mm(a.to(torch::kDouble), b.to(torch::kDouble));
  CHECK((torch::mm(a, b).to(torch::kDouble) - exact).abs().max().item<double>() < 1e-4);
}
