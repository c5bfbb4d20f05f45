#include "runtime/lean_kernels.h"

#include <algorithm>
#include <cmath>

namespace aaren::lean {

PackedLinear PackedLinear::pack(const std::vector<float>& weight, const std::vector<float>& bias, int64_t out,
                                int64_t in) {
  PackedLinear p;
  p.in = in;
  p.out = out;
  const int64_t panels = (out + kPanel - 1) / kPanel;
  p.panels.assign(panels * in * kPanel, 0.0f);
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < in; ++i) p.panels[((o / kPanel) * in + i) * kPanel + o % kPanel] = weight[o * in + i];
  p.bias.assign(panels * kPanel, 0.0f);  // padded like the panels: whole vectors per panel
  std::copy(bias.begin(), bias.end(), p.bias.begin());
  return p;
}

namespace {

// A SIMD register of floats (GCC/Clang vector extensions): 16 lanes where
// the target has AVX-512, else 8 (AVX, or two SSE halves); aligned(4):
// loads need no alignment.
#if defined(__AVX512F__)
constexpr int kLanes = 16;
#else
constexpr int kLanes = 8;
#endif
typedef float vec __attribute__((vector_size(kLanes * sizeof(float)), aligned(4)));

// One panel for M tokens: acc[m] = b + sum_i x[m][i] W^T[i][panel]. The
// 4 x M accumulators stay in registers; the panel is read once, in order.
template <int M, int Sets = 2>
void apply_panels(const PackedLinear& p, const float* x, float* y) {
  constexpr int64_t K = PackedLinear::kPanel, V = K / kLanes;
  static_assert(K % kLanes == 0, "panels are whole SIMD vectors");
  const int64_t in = p.in, out = p.out;
  for (int64_t panel = 0; panel * K < out; ++panel) {
    const float* w = p.panels.data() + panel * in * K;
    const int64_t o0 = panel * K, width = std::min(K, out - o0);
    const float* b = p.bias.data() + o0;
    // Two accumulator sets, for even and odd i: each FMA chain then waits on
    // its own result every other row only, so the FMA latency (4 cycles)
    // no longer paces the loop when M is small.
    vec acc[Sets][M][V];
    for (int m = 0; m < M; ++m)
      for (int v = 0; v < V; ++v) {
        acc[0][m][v] = *reinterpret_cast<const vec*>(b + kLanes * v);
        for (int r = 1; r < Sets; ++r) acc[r][m][v] = vec{0};
      }
    int64_t i = 0;
    for (; i + Sets <= in; i += Sets, w += Sets * K)
      for (int r = 0; r < Sets; ++r) {
        vec wv[V];
        for (int v = 0; v < V; ++v) wv[v] = *reinterpret_cast<const vec*>(w + r * K + kLanes * v);
        for (int m = 0; m < M; ++m) {
          const float xi = x[m * in + i + r];
          for (int v = 0; v < V; ++v) acc[r][m][v] += xi * wv[v];
        }
      }
    for (; i < in; ++i, w += K)
      for (int m = 0; m < M; ++m) {
        const float xi = x[m * in + i];
        for (int v = 0; v < V; ++v) acc[0][m][v] += xi * *reinterpret_cast<const vec*>(w + kLanes * v);
      }
    for (int m = 0; m < M; ++m) {
      float r[K];
      for (int v = 0; v < V; ++v) {
        vec sum = acc[0][m][v];
        for (int set = 1; set < Sets; ++set) sum += acc[set][m][v];
        *reinterpret_cast<vec*>(r + kLanes * v) = sum;
      }
      for (int64_t k = 0; k < width; ++k) y[m * out + o0 + k] = r[k];
    }
  }
}

// The reductions (LayerNorm's mean and variance, dot) sum in 16 lanes
// whatever the target's SIMD width: a vector of 16 floats is one AVX-512
// register or two AVX2 ones, the same sums either way. Lanes of the target's
// width (8 without AVX-512) would add in another order, and so give other
// last bits, on another CPU.
constexpr int kSumLanes = 16;
typedef float sum_vec __attribute__((vector_size(kSumLanes * sizeof(float)), aligned(4)));

// sum of the lanes of v, in order (deterministic).
inline float lane_sum(const sum_vec& v) {
  float sum = 0;
  for (int k = 0; k < kSumLanes; ++k) sum += v[k];
  return sum;
}

}  // namespace

// LayerNorm over D (biased variance, eps 1e-5, as torch::nn::LayerNorm).
// The two reductions run in SIMD lanes: a scalar chain of D dependent adds
// would cost more than the normalisation itself.
void layer_norm(const float* x, const LayerNormWeights& ln, int64_t D, float* y) {
  const int64_t body = D - D % kSumLanes;
  sum_vec acc = {0};
  for (int64_t i = 0; i < body; i += kSumLanes) acc += *reinterpret_cast<const sum_vec*>(x + i);
  float mean = lane_sum(acc);
  for (int64_t i = body; i < D; ++i) mean += x[i];
  mean /= static_cast<float>(D);
  acc = sum_vec{0};
  for (int64_t i = 0; i < body; i += kSumLanes) {
    const sum_vec c = *reinterpret_cast<const sum_vec*>(x + i) - mean;
    acc += c * c;
  }
  float var = lane_sum(acc);
  for (int64_t i = body; i < D; ++i) var += (x[i] - mean) * (x[i] - mean);
  var /= static_cast<float>(D);
  const float inv = 1.0f / std::sqrt(var + 1e-5f);
  for (int64_t i = 0; i < D; ++i) y[i] = (x[i] - mean) * inv * ln.weight[i] + ln.bias[i];
}

// sum a[i] b[i] in SIMD lanes (a fixed order: deterministic).
float dot(const float* a, const float* b, int64_t n) {
  sum_vec acc = {0};
  int64_t i = 0;
  for (; i + kSumLanes <= n; i += kSumLanes)
    acc += *reinterpret_cast<const sum_vec*>(a + i) * *reinterpret_cast<const sum_vec*>(b + i);
  float sum = lane_sum(acc);
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

std::vector<float> copy_of(const PolicyFile& f, const std::string& name, const std::vector<int64_t>& dims) {
  return f.tensor(name, dims).data;
}

LayerNormWeights layer_norm_of(const PolicyFile& f, const std::string& name, int64_t D) {
  return {copy_of(f, name + ".weight", {D}), copy_of(f, name + ".bias", {D})};
}

PackedLinear linear_of(const PolicyFile& f, const std::string& name, int64_t out, int64_t in) {
  return PackedLinear::pack(copy_of(f, name + ".weight", {out, in}), copy_of(f, name + ".bias", {out}), out, in);
}

void PackedLinear::apply(const float* x, int64_t M, float* y) const {
  switch (M) {
    case 1:
      return apply_panels<1>(*this, x, y);
    case 2:
      return apply_panels<2>(*this, x, y);
    default:
      return apply_panels<3>(*this, x, y);
  }
}

namespace {
// x/2 (1 + erf(x / sqrt 2)), erf(z) = z P(z^2) / Q(z^2) on |z| < 3.9: a
// rational minimax fit accurate to a few float ulps (checked in the tests
// against std::erf). Beyond, erf rounds to +-1 in float: exactly x or 0
// there, as the exact GELU gives for huge |x|. Branch-free, so loops of it
// vectorise.
inline float gelu_inline(float x) {
  const float z = std::min(3.9f, std::max(-3.9f, x * 0.70710678118654752f));
  const float z2 = z * z;
  float p = -2.72614225801306e-10f;
  p = p * z2 + 2.77068142495902e-08f;
  p = p * z2 - 2.10102402082508e-06f;
  p = p * z2 - 5.69250639462346e-05f;
  p = p * z2 - 7.34990630326855e-04f;
  p = p * z2 - 2.95459980854025e-03f;
  p = p * z2 - 1.60960333262415e-02f;
  float q = -1.45660718464996e-05f;
  q = q * z2 - 2.13374055278905e-04f;
  q = q * z2 - 1.68282697438203e-03f;
  q = q * z2 - 7.37332916720468e-03f;
  q = q * z2 - 1.42647390514189e-02f;
  const float saturated = x > 0.0f ? 1.0f : -1.0f;
  const float e = std::abs(x * 0.70710678118654752f) >= 3.9f ? saturated : z * p / q;
  return 0.5f * x * (1.0f + e);
}

}  // namespace

void gelu_in_place(float* __restrict x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = gelu_inline(x[i]);
}

float gelu(float x) { return gelu_inline(x); }

}  // namespace aaren::lean
