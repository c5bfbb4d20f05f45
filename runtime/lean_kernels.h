// The lean runtime's kernels: packed matrices for one to three tokens, the
// LayerNorm, dot products and GELU, in SIMD lanes through the compiler's
// vector extensions (no intrinsics, no library), and the readers of a policy
// file's weights into them. Shared by the policy and its mixers.
#pragma once

#include <cstdint>
#include <new>
#include <string>
#include <vector>

#include "runtime/policy_file.h"

namespace aaren::lean {

// Cache-line (64-byte) aligned storage: a SIMD load of a panel row never
// straddles two lines.
template <class T>
struct CacheAligned {
  using value_type = T;
  static constexpr std::align_val_t kAlign{64};
  CacheAligned() = default;
  template <class U>
  CacheAligned(const CacheAligned<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlign)); }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, kAlign); }
  template <class U>
  bool operator==(const CacheAligned<U>&) const noexcept {
    return true;
  }
  template <class U>
  bool operator!=(const CacheAligned<U>&) const noexcept {
    return false;
  }
};
using AlignedFloats = std::vector<float, CacheAligned<float>>;

// A weight matrix y = W x + b stored for the kernel: W^T cut into panels of
// kPanel output columns, each panel [in][kPanel] contiguous (zero-padded).
struct PackedLinear {
  // Four SIMD registers wide: with two accumulator sets for three tokens
  // that is 24 of AVX-512's 32 registers (12 of AVX2's 16 at 16 wide).
#if defined(__AVX512F__)
  static constexpr int64_t kPanel = 64;
#else
  static constexpr int64_t kPanel = 16;
#endif
  int64_t in = 0, out = 0;
  AlignedFloats panels;  // [ceil(out / kPanel)][in][kPanel]
  AlignedFloats bias;    // [out], zero-padded to whole panels

  // From a row-major [out][in] weight (LibTorch's Linear layout) and bias.
  static PackedLinear pack(const std::vector<float>& weight, const std::vector<float>& bias, int64_t out, int64_t in);
  // y[m] = W x[m] + b for m < M (M <= 3): x [M][in], y [M][out].
  void apply(const float* x, int64_t M, float* y) const;
  int64_t bytes() const { return static_cast<int64_t>((panels.size() + bias.size()) * sizeof(float)); }
};

struct LayerNormWeights {
  std::vector<float> weight, bias;  // [D]
};

// LayerNorm over D (biased variance, eps 1e-5, as torch::nn::LayerNorm): x [D] -> y [D].
void layer_norm(const float* x, const LayerNormWeights& ln, int64_t D, float* y);
// sum a[i] b[i], in SIMD lanes (a fixed order: deterministic).
float dot(const float* a, const float* b, int64_t n);
// Exact-erf GELU, vectorisable: x/2 (1 + erf(x / sqrt 2)) with erf from a
// rational approximation accurate to float precision.
float gelu(float x);

void gelu_in_place(float* x, int64_t n);

// A policy file's weights by their LibTorch names (dims checked).
std::vector<float> copy_of(const PolicyFile& f, const std::string& name, const std::vector<int64_t>& dims);
LayerNormWeights layer_norm_of(const PolicyFile& f, const std::string& name, int64_t D);
PackedLinear linear_of(const PolicyFile& f, const std::string& name, int64_t out, int64_t in);

}  // namespace aaren::lean
