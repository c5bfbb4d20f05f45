// Helpers shared by the env tests.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace aaren::testing {

// An action of n values drawn from U(-scale, scale).
inline std::vector<double> random_action(std::mt19937_64& rng, int64_t n, double scale = 1.0) {
  std::uniform_real_distribution<double> u(-scale, scale);
  std::vector<double> a(n);
  for (auto& x : a) x = u(rng);
  return a;
}

}  // namespace aaren::testing
