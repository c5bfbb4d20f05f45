// fast_dropout (agents/models/dropout.h) against dropout's definition:
// each element kept with probability 1 - p, independently, scaled by 1/(1-p);
// reproducible from LibTorch's generator, whatever the thread count.
#include <ATen/Parallel.h>
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <cmath>

#include "agents/models/dropout.h"

TEST_CASE("fast dropout: keep rate, scale, independence, reproducibility, gradient", "[dropout]") {
  const double p = 0.1;
  const int64_t n = 1 << 20;
  const auto x = torch::ones({n});
  torch::manual_seed(5);
  const auto y = aaren::fast_dropout(x, p, true);
  const auto kept = y.ne(0).to(torch::kDouble);
  // Kept fraction: binomial, sd sqrt(p (1-p) / n) = 2.9e-4; 7 sd.
  CHECK(std::abs(kept.mean().item<double>() - (1 - p)) < 2e-3);
  // Kept values are exactly 1/(1-p); the mean is preserved.
  CHECK(y.masked_select(y.ne(0)).eq(static_cast<float>(1 / (1 - p))).all().item<bool>());
  CHECK(std::abs(y.to(torch::kDouble).mean().item<double>() - 1) < 3e-3);
  // Independence: neighbours (lanes of one hash word, and across words) and
  // a stride: P(both kept) = (1-p)^2.
  for (const int64_t lag : {1, 2, 3, 4, 5, 64}) {
    INFO("lag " << lag);
    const double both = (kept.narrow(0, 0, n - lag) * kept.narrow(0, lag, n - lag)).mean().item<double>();
    CHECK(std::abs(both - (1 - p) * (1 - p)) < 3e-3);
  }
  // Reproducible from the generator; a second call draws a new mask.
  torch::manual_seed(5);
  CHECK(torch::equal(aaren::fast_dropout(x, p, true), y));
  CHECK_FALSE(torch::equal(aaren::fast_dropout(x, p, true), y));
  torch::manual_seed(6);
  CHECK_FALSE(torch::equal(aaren::fast_dropout(x, p, true), y));
  // The same mask on 1 thread and on 2.
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  torch::manual_seed(7);
  const auto one = aaren::fast_dropout(x, p, true);
  at::set_num_threads(2);
  torch::manual_seed(7);
  const auto two = aaren::fast_dropout(x, p, true);
  at::set_num_threads(threads);
  CHECK(torch::equal(one, two));
  // Evaluation mode and p = 0 are the identity; bf16 stays bf16.
  CHECK(aaren::fast_dropout(x, p, false).data_ptr() == x.data_ptr());
  CHECK(aaren::fast_dropout(x, 0.0, true).data_ptr() == x.data_ptr());
  CHECK(aaren::fast_dropout(x.to(torch::kBFloat16), p, true).scalar_type() == torch::kBFloat16);
  CHECK_THROWS(aaren::fast_dropout(x, 1.0, true));
  // The gradient is the mask: d y_i / d x_i = kept_i / (1 - p).
  const auto z = torch::randn({1000}, torch::requires_grad());
  torch::manual_seed(8);
  const auto out = aaren::fast_dropout(z, 0.3, true);
  out.sum().backward();
  torch::manual_seed(8);
  const auto mask = aaren::fast_dropout(torch::ones({1000}), 0.3, true);
  CHECK(torch::allclose(z.grad(), mask));
  // The module follows train()/eval().
  aaren::Dropout module(0.5);
  module->eval();
  CHECK(torch::equal(module(x), x));
  module->train();
  CHECK_FALSE(torch::equal(module(x), x));
}
