#include "agents/models/dropout.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <mutex>

namespace aaren {

namespace {

// SplitMix64 (Steele, Lea and Flood 2014): a bijective mix of key + counter,
// each output a well-spread 64-bit word; four 16-bit lanes per word.
inline uint64_t mix(uint64_t key, uint64_t counter) {
  uint64_t z = key + (counter + 1) * 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

uint64_t draw_key() {
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get<at::CPUGeneratorImpl>()->random64();
}

}  // namespace

torch::Tensor fast_dropout(const torch::Tensor& x, double p, bool training) {
  TORCH_CHECK(p >= 0 && p < 1, "dropout: p must be in [0, 1), got ", p);
  if (!training || p == 0) return x;
  if (!x.device().is_cpu()) return torch::dropout(x, p, true);
  const uint64_t key = draw_key();
  const auto threshold = static_cast<uint32_t>(std::lround(p * 65536.0));  // a lane below it drops
  auto mask = torch::empty(x.sizes(), x.options().requires_grad(false));
  const int64_t n = mask.numel();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, mask.scalar_type(), "fast_dropout", [&] {
    scalar_t* out = mask.data_ptr<scalar_t>();
    const auto keep = static_cast<scalar_t>(1.0 / (1.0 - p));
    const auto zero = static_cast<scalar_t>(0);
    // One word per 4 elements; chunks of words, so any split over threads
    // gives the same mask.
    at::parallel_for(0, (n + 3) / 4, 4096, [&](int64_t begin, int64_t end) {
      for (int64_t w = begin; w < end; ++w) {
        uint64_t bits = mix(key, static_cast<uint64_t>(w));
        const int64_t last = std::min<int64_t>(4 * w + 4, n);
        for (int64_t i = 4 * w; i < last; ++i, bits >>= 16)
          out[i] = static_cast<uint32_t>(bits & 0xFFFF) >= threshold ? keep : zero;
      }
    });
  });
  return x * mask;
}

}  // namespace aaren
