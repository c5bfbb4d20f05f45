// Helpers shared by the scan and backbone tests.
#pragma once

#include <torch/torch.h>

#include <algorithm>

namespace aaren::testing {

// Norm-wise relative error max|a - b| / max|b| (b is the reference), in double.
inline double rel_error(const torch::Tensor& a, const torch::Tensor& b) {
  const auto ad = a.detach().to(torch::kFloat64), bd = b.detach().to(torch::kFloat64);
  const double denom = std::max(bd.abs().max().item<double>(), 1e-300);
  return (ad - bd).abs().max().item<double>() / denom;
}

inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.detach().to(torch::kFloat64) - b.detach().to(torch::kFloat64)).abs().max().item<double>();
}

inline bool all_finite(const torch::Tensor& t) { return torch::isfinite(t).all().item<bool>(); }

}  // namespace aaren::testing
