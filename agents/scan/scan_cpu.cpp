// Fast CPU scan: a fused sequential pass per (batch, head) with the (m, u, w)
// recurrence, and a hand-written backward made of two reverse (suffix) scans.
//
// Backward. Let L_k = m_k + log u_k be the log of the prefix denominator
// (initial state included), a_ki = exp(s_i - L_k), g_k = dLoss/do_k. Then
//     dv_i = sum_{k>=i} a_ki g_k
//     ds_i = sum_{k>=i} a_ki (v_i - o_k)·g_k = e^{s_i-L_i} (v_i·G_i - P_i)
// with the suffix sums, kept relative to the reference exponent L_i,
//     G_i = sum_{k>=i} e^{L_i-L_k} g_k,        P_i = sum_{k>=i} e^{L_i-L_k} o_k·g_k,
//     G_i = e^{L_i-L_{i+1}} G_{i+1} + g_i,     P_i = e^{L_i-L_{i+1}} P_{i+1} + o_i·g_i.
// L is non-decreasing, so every factor e^{L_i-L_{i+1}} and e^{s_i-L_i} is <= 1:
// nothing overflows for any finite scores. The factor is computed as
// e^{m_i-m_{i+1}} u_i/u_{i+1} from the stored (m, u), never from a difference
// of two large L values (which would lose precision at |s| ~ 1e4).
// Gradients arriving at the final state (gu, gw; m treated as constant) seed
// the suffix sums: u_N e^{s_i-m_N} = e^{s_i-L_i} e^{L_i-L_N} u_N, so G starts at
// u_N gw and P at -u_N gu. The initial state (m0, u0, w0) then receives
//     dw0 = e^{m0-L_1} G_1,   du0 = -e^{m0-L_1} P_1.
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <vector>

#include "agents/scan/scan.h"
#include "agents/scan/scan_function.h"

namespace aaren {

namespace {

// The backward's dot products in an order fixed in the source, whatever the
// CPU. A vectorised reduction (`omp simd reduction`) adds in the order of the
// vector width the compiler picks for the host under -march=native: 16 floats
// where the tuning prefers 512-bit vectors (an AMD Zen 4 with GCC 12), 8 where
// it prefers 256 (Intel's AVX-512 CPUs), so the same run differed in its last
// bits between the two, AAREN_REPRODUCIBLE=1 or not. Written out: lane l sums
// the terms j = l (mod kLanes), kLanes = 64 bytes of T, and the lanes are then
// added in order, 0 + lane 0 + lane 1 + ... -- what GCC's `omp simd` made of
// one 512-bit vector (a private copy per lane, summed after the loop), so the
// bits made before on such a machine are kept where d is a multiple of kLanes
// (every committed config: d = 128, or 32 per head). The lanes are
// independent, so the compiler still vectorises them at any width without
// changing a sum. A tail of d mod kLanes terms is added last, in order.
template <typename T>
constexpr int kLanes = static_cast<int>(64 / sizeof(T));

template <typename T>
T fold_lanes(const T* lanes) {
  T sum = T(0);
  for (int l = 0; l < kLanes<T>; ++l) sum += lanes[l];
  return sum;
}

// og = o_k . g_k (with_g), G <- G f + g_k (without g: G f), vG = v_k . G.
template <bool with_g, typename T>
void dot_products_and_suffix(int64_t d, T f, const T* __restrict ok, const T* __restrict gk, const T* __restrict vk,
                             T* __restrict G, T& og, T& vG) {
  constexpr int L = kLanes<T>;
  T og_lanes[L] = {}, vG_lanes[L] = {};
  int64_t j = 0;
  for (; j + L <= d; j += L)
    for (int l = 0; l < L; ++l) {
      if constexpr (with_g) {
        og_lanes[l] += ok[j + l] * gk[j + l];
        G[j + l] = G[j + l] * f + gk[j + l];
      } else {
        G[j + l] = G[j + l] * f;
      }
      vG_lanes[l] += vk[j + l] * G[j + l];
    }
  og = fold_lanes(og_lanes), vG = fold_lanes(vG_lanes);
  for (; j < d; ++j) {
    if constexpr (with_g) {
      og += ok[j] * gk[j];
      G[j] = G[j] * f + gk[j];
    } else {
      G[j] = G[j] * f;
    }
    vG += vk[j] * G[j];
  }
}

template <typename T>
struct ScanKernel {
  // One (batch, head) sequence. Pointers address contiguous rows:
  // s[N], v[N*d], valid[N]; outputs o[N*d], M[N], U[N], final w[d].
  static void forward(int64_t N, int64_t d, const T* s, const T* v, const bool* valid, T m, T u, const T* w0, T* o,
                      T* M, T* U, T* w) {
    for (int64_t j = 0; j < d; ++j) w[j] = w0[j];
    for (int64_t k = 0; k < N; ++k) {
      T* __restrict ok = o + k * d;
      if (!valid[k]) {  // padding: the identity; output 0
        for (int64_t j = 0; j < d; ++j) ok[j] = T(0);
        M[k] = m, U[k] = u;
        continue;
      }
      const T sk = s[k];
      const T mn = sk > m ? sk : m;
      const T c = std::exp(m - mn);  // m = -inf (empty) gives 0
      const T e = std::exp(sk - mn);
      u = u * c + e;
      const T inv_u = T(1) / u;
      const T* __restrict vk = v + k * d;
      T* __restrict wr = w;
      for (int64_t j = 0; j < d; ++j) {
        wr[j] = wr[j] * c + e * vk[j];
        ok[j] = wr[j] * inv_u;
      }
      m = mn;
      M[k] = m, U[k] = u;
    }
  }

  // Reverse scans. Inputs as above plus g[N*d] (may be null: no output grad),
  // gu (scalar) and gw[d] (may be null) for the final state. Writes ds[N],
  // dv[N*d], and du0, dw0[d] for the initial state (m0, u0).
  static void backward(int64_t N, int64_t d, const T* s, const T* v, const bool* valid, const T* o, const T* M,
                       const T* U, const T* g, T gu, const T* gw, T m0, T u0, T* ds, T* dv, T* du0, T* dw0,
                       T* G /* scratch [d] */) {
    T mref = M[N - 1], uref = U[N - 1];  // reference exponent: the final state
    T P = T(0);
    for (int64_t j = 0; j < d; ++j) G[j] = T(0);
    if (uref > T(0)) {
      P = -uref * gu;
      if (gw)
        for (int64_t j = 0; j < d; ++j) G[j] = uref * gw[j];
    }
    for (int64_t k = N - 1; k >= 0; --k) {
      T* __restrict dvk = dv + k * d;
      if (!valid[k]) {
        for (int64_t j = 0; j < d; ++j) dvk[j] = T(0);
        ds[k] = T(0);
        continue;
      }
      const T f = std::exp(M[k] - mref) * (U[k] / uref);  // e^{L_k - L_ref} <= 1
      const T* __restrict gk = g ? g + k * d : nullptr;
      const T* __restrict ok = o + k * d;
      const T* __restrict vk = v + k * d;
      T* __restrict Gr = G;
      T og = T(0), vG = T(0);
      if (gk)
        dot_products_and_suffix<true>(d, f, ok, gk, vk, Gr, og, vG);
      else
        dot_products_and_suffix<false>(d, f, ok, gk, vk, Gr, og, vG);
      P = P * f + og;
      mref = M[k], uref = U[k];
      const T a = std::exp(s[k] - M[k]) / U[k];  // e^{s_k - L_k} <= 1
      for (int64_t j = 0; j < d; ++j) dvk[j] = a * Gr[j];
      ds[k] = a * (vG - P);
    }
    // Initial state: weight e^{m0 - L_ref}, with L_ref now at the first real
    // token (or still the final state = initial state if there was none).
    if (u0 > T(0) && uref > T(0)) {
      const T a0 = std::exp(m0 - mref) / uref;
      *du0 = -a0 * P;
      for (int64_t j = 0; j < d; ++j) dw0[j] = a0 * G[j];
    } else {
      *du0 = T(0);
      for (int64_t j = 0; j < d; ++j) dw0[j] = T(0);
    }
  }
};

// The CPU passes for detail::ScanFunction: one sequential sweep per
// (batch, head), parallel over batch x heads.
struct CpuScanKernel {
  static void forward(const detail::ScanTensors& t, const torch::Tensor& wN) {
    const int64_t H = t.H(), N = t.N(), d = t.d();
    AT_DISPATCH_FLOATING_TYPES(t.s.scalar_type(), "aaren_scan_forward", [&] {
      const auto* sp = t.s.data_ptr<scalar_t>();
      const auto* vp = t.v.data_ptr<scalar_t>();
      const auto* m0p = t.m0.data_ptr<scalar_t>();
      const auto* u0p = t.u0.data_ptr<scalar_t>();
      const auto* w0p = t.w0.data_ptr<scalar_t>();
      const auto* validp = t.valid.data_ptr<bool>();
      auto* op = t.o.data_ptr<scalar_t>();
      auto* Mp = t.M.data_ptr<scalar_t>();
      auto* Up = t.U.data_ptr<scalar_t>();
      auto* wp = wN.data_ptr<scalar_t>();
      at::parallel_for(0, t.B() * H, 1, [&](int64_t begin, int64_t end) {
        for (int64_t bh = begin; bh < end; ++bh) {
          const int64_t b = bh / H;
          ScanKernel<scalar_t>::forward(N, d, sp + bh * N, vp + bh * N * d, validp + b * N, m0p[bh], u0p[bh],
                                        w0p + bh * d, op + bh * N * d, Mp + bh * N, Up + bh * N, wp + bh * d);
        }
      });
    });
  }

  static void backward(const detail::ScanTensors& t, const detail::ScanGrads& g) {
    const int64_t H = t.H(), N = t.N(), d = t.d();
    const auto gu = g.gu.defined() ? g.gu : torch::zeros({t.B(), H}, t.s.options());  // read per sequence
    AT_DISPATCH_FLOATING_TYPES(t.s.scalar_type(), "aaren_scan_backward", [&] {
      const auto* sp = t.s.data_ptr<scalar_t>();
      const auto* vp = t.v.data_ptr<scalar_t>();
      const auto* m0p = t.m0.data_ptr<scalar_t>();
      const auto* u0p = t.u0.data_ptr<scalar_t>();
      const auto* validp = t.valid.data_ptr<bool>();
      const auto* op = t.o.data_ptr<scalar_t>();
      const auto* Mp = t.M.data_ptr<scalar_t>();
      const auto* Up = t.U.data_ptr<scalar_t>();
      const auto* gop = g.go.defined() ? g.go.data_ptr<scalar_t>() : nullptr;
      const auto* gup = gu.data_ptr<scalar_t>();
      const auto* gwp = g.gw.defined() ? g.gw.data_ptr<scalar_t>() : nullptr;
      auto* dsp = g.ds.data_ptr<scalar_t>();
      auto* dvp = g.dv.data_ptr<scalar_t>();
      auto* du0p = g.du0.data_ptr<scalar_t>();
      auto* dw0p = g.dw0.data_ptr<scalar_t>();
      at::parallel_for(0, t.B() * H, 1, [&](int64_t begin, int64_t end) {
        std::vector<scalar_t> scratch(d);
        for (int64_t bh = begin; bh < end; ++bh) {
          const int64_t b = bh / H;
          ScanKernel<scalar_t>::backward(N, d, sp + bh * N, vp + bh * N * d, validp + b * N, op + bh * N * d,
                                         Mp + bh * N, Up + bh * N, gop ? gop + bh * N * d : nullptr, gup[bh],
                                         gwp ? gwp + bh * d : nullptr, m0p[bh], u0p[bh], dsp + bh * N, dvp + bh * N * d,
                                         du0p + bh, dw0p + bh * d, scratch.data());
        }
      });
    });
  }
};

}  // namespace

ScanResult scan_fast(const at::Tensor& scores, const at::Tensor& values, const c10::optional<ScanState>& initial,
                     const at::Tensor& mask) {
  if (scores.defined() && values.defined() && scores.is_floating_point() && scores.element_size() < 4) {
    // Mixed precision: the projections ran in bf16/fp16; the scan (exp, the
    // running sums) runs in fp32 and so does its state.
    return scan_fast(scores.to(torch::kFloat), values.to(torch::kFloat), initial, mask);
  }
  if (scores.defined() && scores.is_cuda()) {
#ifdef AAREN_WITH_CUDA
    return scan_cuda(scores, values, initial, mask);
#else
    TORCH_CHECK(false, "aaren scan: CUDA tensors, but this build has no CUDA scan (configure against a CUDA-enabled ",
                "LibTorch: -DCMAKE_PREFIX_PATH=...; see README)");
#endif
  }
  check_scan_inputs(scores, values, initial, mask);
  TORCH_CHECK(scores.device().is_cpu(), "aaren scan_fast: the CPU kernel needs CPU tensors, got ", scores.device());
  return detail::run_scan<CpuScanKernel>(scores, values, initial, mask);
}

}  // namespace aaren
