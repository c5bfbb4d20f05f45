// CUDA kernels of the Aaren scan; the plan is in scan_kernels.h.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "agents/scan/cuda/scan_kernels.h"

// Kernel launches. Under tests/cuda/emulator (the kernels run on CPU threads
// to test them without a GPU) a launch is a function call.
#ifdef AAREN_SIMT_EMULATOR
#define AAREN_LAUNCH(kernel, grid, block, stream, ...) ::aaren_simt::launch(grid, block, [=] { kernel(__VA_ARGS__); })
#else
#define AAREN_LAUNCH(kernel, grid, block, stream, ...) kernel<<<grid, block, 0, stream>>>(__VA_ARGS__)
#endif

namespace aaren::cuda {

namespace {

constexpr unsigned kFullMask = 0xffffffffu;
constexpr int kWarpSize = 32;
constexpr int kMaxWarps = 16;    // warps per block in the value kernels (at most 512 threads)
constexpr int kScalarWarps = 4;  // sequences per block in the scalar kernels

__device__ __forceinline__ float neg_inf(float) { return __int_as_float(0xff800000); }
__device__ __forceinline__ double neg_inf(double) { return __longlong_as_double(0xfff0000000000000ULL); }
__device__ __forceinline__ float exp_of(float x) { return expf(x); }
__device__ __forceinline__ double exp_of(double x) { return exp(x); }

// e^{from - to}; 0 when `from` is the empty summary's -inf (so -inf - -inf
// never makes a NaN).
template <typename T>
__device__ __forceinline__ T rescale(T from, T to) {
  return from == neg_inf(T()) ? T(0) : exp_of(from - to);
}

// (m, u) <- (m, u) then (m2, u2): the associative combine of scan.h, u part.
template <typename T>
__device__ __forceinline__ void combine(T& m, T& u, T m2, T u2) {
  const T mn = m > m2 ? m : m2;
  if (mn == neg_inf(T())) return;  // both empty
  u = u * rescale(m, mn) + u2 * rescale(m2, mn);
  m = mn;
}

// Column slices of a value kernel's grid: 32 lanes of `columns` columns each.
int slices_of(int64_t d, int columns = 1) {
  const int64_t per_block = static_cast<int64_t>(kWarpSize) * columns;
  return static_cast<int>((d + per_block - 1) / per_block);
}

// The variant's warps, but no more than the sequence fills, and at most kMaxWarps.
int warps_for(const ScanVariant& variant, int64_t N) {
  const int64_t filled = (N + variant.tokens_per_warp - 1) / variant.tokens_per_warp;
  return static_cast<int>(std::min<int64_t>(std::min(variant.warps, kMaxWarps), std::max<int64_t>(1, filled)));
}

// ---- forward -----------------------------------------------------------------

// The sequence this warp walks, in the kernels that give each sequence one warp.
__device__ __forceinline__ int64_t warp_sequence() {
  return static_cast<int64_t>(blockIdx.x) * kScalarWarps + threadIdx.x / kWarpSize;
}

// One sequence's rows in the forward scalar kernels, and what they store per token.
template <typename T>
struct ScalarRows {
  const T* s;
  const bool* valid;
  T *M, *U, *c, *e, *inv_u;
  __device__ ScalarRows(const ScanForwardArgs<T>& a, int64_t bh, T* c_out, T* e_out, T* inv_u_out)
      : s(a.s + bh * a.N),
        valid(a.valid + (bh / a.H) * a.N),
        M(a.M + bh * a.N),
        U(a.U + bh * a.N),
        c(c_out + bh * a.N),
        e(e_out + bh * a.N),
        inv_u(inv_u_out + bh * a.N) {}
  // Token t's M, U, c = e^{M_{t-1} - M_t}, e = e^{s_t - M_t} (0 when padded), 1/U (0 when padded or empty).
  __device__ void store(int64_t t, T m_before, T m, T u, bool ok, T st) const {
    M[t] = m;
    U[t] = u;
    c[t] = m == neg_inf(T()) ? T(1) : rescale(m_before, m);
    e[t] = ok ? exp_of(st - m) : T(0);
    inv_u[t] = ok && u > T(0) ? T(1) / u : T(0);
  }
};

// One warp per sequence: M, U, and the per-token c = e^{M_{t-1} - M_t},
// e = e^{s_t - M_t} (0 when padded), inv_u = 1/U_t (0 when padded or empty).
template <typename T>
__global__ void forward_scalars_kernel(ScanForwardArgs<T> a, T* c_out, T* e_out, T* inv_u_out) {
  const int lane = threadIdx.x % kWarpSize;
  const int64_t bh = warp_sequence();
  if (bh >= a.BH) return;  // the whole warp leaves together
  const int64_t N = a.N;
  const ScalarRows<T> rows(a, bh, c_out, e_out, inv_u_out);
  T carry_m = a.m0[bh], carry_u = a.u0[bh];  // the summary of everything before this group
  for (int64_t base = 0; base < N; base += kWarpSize) {
    const int64_t t = base + lane;
    const bool in = t < N, ok = in && rows.valid[t];
    const T st = in ? rows.s[t] : T(0);
    T m = ok ? st : neg_inf(T()), u = ok ? T(1) : T(0);
    // Inclusive scan over the lanes (Hillis-Steele with shuffles).
    for (int off = 1; off < kWarpSize; off <<= 1) {
      const T m_up = __shfl_up_sync(kFullMask, m, off), u_up = __shfl_up_sync(kFullMask, u, off);
      if (lane >= off) {
        T mm = m_up, uu = u_up;
        combine(mm, uu, m, u);
        m = mm, u = uu;
      }
    }
    {
      T mm = carry_m, uu = carry_u;
      combine(mm, uu, m, u);
      m = mm, u = uu;
    }
    T m_before = __shfl_up_sync(kFullMask, m, 1);
    if (lane == 0) m_before = carry_m;
    if (in) rows.store(t, m_before, m, u, ok, st);
    carry_m = __shfl_sync(kFullMask, m, kWarpSize - 1);
    carry_u = __shfl_sync(kFullMask, u, kWarpSize - 1);
  }
}

// forward_scalars_kernel with S consecutive tokens per lane (32 S per step
// of the walk, S loads in flight per lane): each lane reduces its tokens to
// one (m, u), the warp scans those, and each lane replays its tokens from the
// summary of everything before them. The same results, in another order of
// additions.
template <typename T, int S>
__global__ void forward_scalars_multi_kernel(ScanForwardArgs<T> a, T* c_out, T* e_out, T* inv_u_out) {
  const int lane = threadIdx.x % kWarpSize;
  const int64_t bh = warp_sequence();
  if (bh >= a.BH) return;  // the whole warp leaves together
  const ScalarRows<T> rows(a, bh, c_out, e_out, inv_u_out);
  const int64_t N = a.N;
  T carry_m = a.m0[bh], carry_u = a.u0[bh];  // the summary of everything before this step
  for (int64_t base = 0; base < N; base += kWarpSize * S) {
    const int64_t t0 = base + static_cast<int64_t>(lane) * S;
    T st[S];
    bool ok[S];
    T m = neg_inf(T()), u = T(0);  // this lane's tokens as one summary
#pragma unroll
    for (int k = 0; k < S; ++k) {
      const bool in = t0 + k < N;
      ok[k] = in && rows.valid[t0 + k];
      st[k] = in ? rows.s[t0 + k] : T(0);
      combine(m, u, ok[k] ? st[k] : neg_inf(T()), ok[k] ? T(1) : T(0));
    }
    for (int off = 1; off < kWarpSize; off <<= 1) {  // inclusive scan of the lanes' summaries
      const T m_up = __shfl_up_sync(kFullMask, m, off), u_up = __shfl_up_sync(kFullMask, u, off);
      if (lane >= off) {
        T mm = m_up, uu = u_up;
        combine(mm, uu, m, u);
        m = mm, u = uu;
      }
    }
    T run_m = __shfl_up_sync(kFullMask, m, 1), run_u = __shfl_up_sync(kFullMask, u, 1);  // the lanes before
    if (lane == 0) run_m = neg_inf(T()), run_u = T(0);
    {
      T mm = carry_m, uu = carry_u;
      combine(mm, uu, run_m, run_u);
      run_m = mm, run_u = uu;
    }
#pragma unroll
    for (int k = 0; k < S; ++k) {
      const int64_t t = t0 + k;
      const T m_before = run_m;
      combine(run_m, run_u, ok[k] ? st[k] : neg_inf(T()), ok[k] ? T(1) : T(0));
      if (t < N) rows.store(t, m_before, run_m, run_u, ok[k], st[k]);
    }
    combine(carry_m, carry_u, __shfl_sync(kFullMask, m, kWarpSize - 1), __shfl_sync(kFullMask, u, kWarpSize - 1));
  }
}

// V consecutive value columns of one token, moved as one vector load or
// store (the launch checks that the pointers allow it).
template <typename T, int V>
struct alignas(sizeof(T) * V) Columns {
  T x[V];
};

// Vec: one vector access (the pointer is aligned to the vector), else V
// scalar ones. Only how the columns move differs, never the arithmetic, so a
// cut's results do not depend on where the tensors happen to lie.
template <typename T, int V, bool Vec>
__device__ __forceinline__ Columns<T, V> load_columns(const T* p) {
  if constexpr (Vec) return *reinterpret_cast<const Columns<T, V>*>(p);
  Columns<T, V> c;
#pragma unroll
  for (int j = 0; j < V; ++j) c.x[j] = p[j];
  return c;
}

template <typename T, int V, bool Vec>
__device__ __forceinline__ void store_columns(T* p, const Columns<T, V>& c) {
  if constexpr (Vec) {
    *reinterpret_cast<Columns<T, V>*>(p) = c;
  } else {
#pragma unroll
    for (int j = 0; j < V; ++j) p[j] = c.x[j];
  }
}

template <typename T, int V>
__device__ __forceinline__ Columns<T, V> filled(T value) {
  Columns<T, V> c;
#pragma unroll
  for (int j = 0; j < V; ++j) c.x[j] = value;
  return c;
}

// Both sums over the warp's lanes (a butterfly: every lane ends with the totals).
template <typename T>
__device__ __forceinline__ void warp_sum(T& x, T& y) {
  for (int off = kWarpSize / 2; off > 0; off >>= 1) {
    x += __shfl_xor_sync(kFullMask, x, off);
    y += __shfl_xor_sync(kFullMask, y, off);
  }
}

template <typename T, int V>
__device__ __forceinline__ void scale_columns(Columns<T, V>& c, T factor) {
#pragma unroll
  for (int j = 0; j < V; ++j) c.x[j] = factor * c.x[j];
}

// One block per (sequence, 32 x V columns): w_t = c_t w_{t-1} + e_t v_t,
// o_t = w_t / U_t. Each warp holds TPW tokens per chunk; each lane V columns.
template <typename T, int TPW, int V, bool Vec>
__global__ void __launch_bounds__(kMaxWarps* kWarpSize)
    forward_values_kernel(ScanForwardArgs<T> a, const T* c_in, const T* e_in, const T* inv_u_in) {
  __shared__ T map_w[kMaxWarps][kWarpSize * V];  // each warp's chunk as the affine map w -> C w + W
  __shared__ T map_c[kMaxWarps];
  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize, warps = blockDim.x / kWarpSize;
  const int64_t bh = blockIdx.x, N = a.N, d = a.d;
  const int64_t col = (static_cast<int64_t>(blockIdx.y) * kWarpSize + lane) * V;
  const bool has_col = col < d;  // V divides d: a lane's columns are all in or all out
  const T *c = c_in + bh * N, *e = e_in + bh * N, *inv_u = inv_u_in + bh * N;
  const T* v = a.v + bh * N * d + col;
  T* o = a.o + bh * N * d + col;
  Columns<T, V> carry = has_col ? load_columns<T, V, Vec>(a.w0 + bh * d + col) : filled<T, V>(T(0));
  const int64_t chunk = static_cast<int64_t>(warps) * TPW;
  for (int64_t base = 0; base < N; base += chunk) {
    const int64_t t0 = base + static_cast<int64_t>(warp) * TPW;
    T cv[TPW], ev[TPW], iv[TPW];
    Columns<T, V> xv[TPW];
#pragma unroll
    for (int k = 0; k < TPW; ++k) {  // all loads first: they are in flight together
      const int64_t t = t0 + k;
      const bool in = t < N;
      cv[k] = in ? c[t] : T(1);  // past the end: the identity map
      ev[k] = in ? e[t] : T(0);
      iv[k] = in ? inv_u[t] : T(0);
      xv[k] = in && has_col ? load_columns<T, V, Vec>(v + t * d) : filled<T, V>(T(0));
    }
    Columns<T, V> local_w = filled<T, V>(T(0));
    T local_c = T(1);
#pragma unroll
    for (int k = 0; k < TPW; ++k) {
#pragma unroll
      for (int j = 0; j < V; ++j) local_w.x[j] = cv[k] * local_w.x[j] + ev[k] * xv[k].x[j];
      local_c *= cv[k];
    }
#pragma unroll
    for (int j = 0; j < V; ++j) map_w[warp][lane * V + j] = local_w.x[j];
    if (lane == 0) map_c[warp] = local_c;
    __syncthreads();
    Columns<T, V> w = carry;
    for (int i = 0; i < warp; ++i)
#pragma unroll
      for (int j = 0; j < V; ++j) w.x[j] = map_c[i] * w.x[j] + map_w[i][lane * V + j];
#pragma unroll
    for (int k = 0; k < TPW; ++k) {
      Columns<T, V> out;
#pragma unroll
      for (int j = 0; j < V; ++j) {
        w.x[j] = cv[k] * w.x[j] + ev[k] * xv[k].x[j];
        out.x[j] = w.x[j] * iv[k];
      }
      if (has_col && t0 + k < N) store_columns<T, V, Vec>(o + (t0 + k) * d, out);
    }
    for (int i = 0; i < warps; ++i)
#pragma unroll
      for (int j = 0; j < V; ++j) carry.x[j] = map_c[i] * carry.x[j] + map_w[i][lane * V + j];
    __syncthreads();  // the maps are rewritten by the next chunk
  }
  if (has_col) store_columns<T, V, Vec>(a.wN + bh * d + col, carry);
}

// ---- backward ----------------------------------------------------------------

// Per token: f_k = e^{L_k - L_{k+1}} (1 at the last token, 0 while the
// prefix is empty) and a_k = e^{s_k - L_k} (0 when padded), L = M + log U.
template <typename T>
__global__ void backward_scalars_kernel(ScanBackwardArgs<T> a, T* f_out, T* a_out) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= a.BH * a.N) return;
  const int64_t bh = i / a.N, k = i % a.N;
  const T Mk = a.M[i], Uk = a.U[i];
  T f = T(1);
  if (!(Uk > T(0)))
    f = T(0);
  else if (k + 1 < a.N)
    f = exp_of(Mk - a.M[i + 1]) * (Uk / a.U[i + 1]);
  f_out[i] = f;
  const bool ok = a.valid[(bh / a.H) * a.N + k];
  a_out[i] = ok && Uk > T(0) ? exp_of(a.s[i] - Mk) / Uk : T(0);
}

// G after the last token, for columns col..col+V-1: the final state's u_N gw
// (m_N a constant); 0 without a gradient there.
template <typename T, int V, bool Vec>
__device__ __forceinline__ Columns<T, V> final_state_gradient(const ScanBackwardArgs<T>& a, int64_t bh, int64_t col) {
  const T u_final = a.U[bh * a.N + a.N - 1];
  if (!a.gw || !(u_final > T(0))) return filled<T, V>(T(0));
  Columns<T, V> g = load_columns<T, V, Vec>(a.gw + bh * a.d + col);
  scale_columns(g, u_final);
  return g;
}

// dw0 from G_0 (`carry`): the initial state weighs e^{m0 - L_0} = e^{m0 - M_0} / U_0.
template <typename T, int V, bool Vec>
__device__ __forceinline__ void store_initial_state_gradient(const ScanBackwardArgs<T>& a, int64_t bh, int64_t col,
                                                             Columns<T, V> carry) {
  const T u0 = a.u0[bh], U0 = a.U[bh * a.N];
  scale_columns(carry, u0 > T(0) && U0 > T(0) ? exp_of(a.m0[bh] - a.M[bh * a.N]) / U0 : T(0));
  store_columns<T, V, Vec>(a.dw0 + bh * a.d + col, carry);
}

// One block per (sequence, 32 x V columns), chunks from the end: G, dv = a G,
// and per token this slice's partial sums o·g and v·G; finally dw0.
template <typename T, int TPW, int V, bool Vec>
__global__ void __launch_bounds__(kMaxWarps* kWarpSize)
    backward_values_kernel(ScanBackwardArgs<T> a, const T* f_in, const T* a_in, T* part_og, T* part_vg) {
  __shared__ T map_g[kMaxWarps][kWarpSize * V];  // each warp's chunk as the map G -> F G + Gl
  __shared__ T map_f[kMaxWarps];
  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize, warps = blockDim.x / kWarpSize;
  const int64_t bh = blockIdx.x, N = a.N, d = a.d, slice = blockIdx.y, slices = gridDim.y;
  const int64_t col = (slice * kWarpSize + lane) * V;
  const bool has_col = col < d;
  const T *f = f_in + bh * N, *af = a_in + bh * N;
  const bool* valid = a.valid + (bh / a.H) * N;
  const int64_t offset = bh * N * d + col;
  const T *v = a.v + offset, *o = a.o + offset, *g = a.g ? a.g + offset : nullptr;
  T *dv = a.dv + offset, *og_out = part_og + (bh * slices + slice) * N, *vg_out = part_vg + (bh * slices + slice) * N;
  const auto zero = filled<T, V>(T(0));
  Columns<T, V> carry = has_col ? final_state_gradient<T, V, Vec>(a, bh, col) : zero;
  const int64_t chunk = static_cast<int64_t>(warps) * TPW;
  for (int64_t base = (N - 1) / chunk * chunk; base >= 0; base -= chunk) {
    const int64_t t0 = base + static_cast<int64_t>(warp) * TPW;
    T fv[TPW], av[TPW];
    Columns<T, V> gv[TPW], vv[TPW], ov[TPW];
#pragma unroll
    for (int k = 0; k < TPW; ++k) {
      const int64_t t = t0 + k;
      const bool in = t < N, load = in && has_col;
      fv[k] = in ? f[t] : T(1);
      av[k] = in ? af[t] : T(0);
      gv[k] = load && g && valid[t] ? load_columns<T, V, Vec>(g + t * d) : zero;  // a padded output takes no gradient
      vv[k] = load ? load_columns<T, V, Vec>(v + t * d) : zero;
      ov[k] = load ? load_columns<T, V, Vec>(o + t * d) : zero;
    }
    Columns<T, V> local_g = zero;
    T local_f = T(1);
#pragma unroll
    for (int k = TPW - 1; k >= 0; --k) {
#pragma unroll
      for (int j = 0; j < V; ++j) local_g.x[j] = fv[k] * local_g.x[j] + gv[k].x[j];
      local_f *= fv[k];
    }
#pragma unroll
    for (int j = 0; j < V; ++j) map_g[warp][lane * V + j] = local_g.x[j];
    if (lane == 0) map_f[warp] = local_f;
    __syncthreads();
    Columns<T, V> G = carry;  // G after this warp's tokens: the later warps' maps applied to the carry
    for (int i = warps - 1; i > warp; --i)
#pragma unroll
      for (int j = 0; j < V; ++j) G.x[j] = map_f[i] * G.x[j] + map_g[i][lane * V + j];
#pragma unroll
    for (int k = TPW - 1; k >= 0; --k) {
      const int64_t t = t0 + k;
      Columns<T, V> dvk;
      T og = T(0), vg = T(0);
#pragma unroll
      for (int j = 0; j < V; ++j) {
        G.x[j] = fv[k] * G.x[j] + gv[k].x[j];
        dvk.x[j] = av[k] * G.x[j];
        og += ov[k].x[j] * gv[k].x[j];
        vg += vv[k].x[j] * G.x[j];
      }
      if (t < N) {  // the same for the whole warp: the shuffles below see every lane
        if (has_col) store_columns<T, V, Vec>(dv + t * d, dvk);
        warp_sum(og, vg);
        if (lane == 0) og_out[t] = og, vg_out[t] = vg;
      }
    }
    for (int i = warps - 1; i >= 0; --i)
#pragma unroll
      for (int j = 0; j < V; ++j) carry.x[j] = map_f[i] * carry.x[j] + map_g[i][lane * V + j];
    __syncthreads();
  }
  if (has_col) store_initial_state_gradient<T, V, Vec>(a, bh, col, carry);
}

// One warp per sequence: sum the slices' partials (in slice order), the
// scalar suffix scan P_k = f_k P_{k+1} + (o·g)_k from P_N = -u_N gu, then
// ds_k = a_k ((v·G)_k - P_k) and du0.
template <typename T>
__global__ void backward_finish_kernel(ScanBackwardArgs<T> a, const T* f_in, const T* a_in, const T* part_og,
                                       const T* part_vg, int slices) {
  const int lane = threadIdx.x % kWarpSize;
  const int64_t bh = warp_sequence();
  if (bh >= a.BH) return;
  const int64_t N = a.N;
  const T *f = f_in + bh * N, *af = a_in + bh * N;
  const T u_final = a.U[bh * N + N - 1];
  T carry = a.gu && u_final > T(0) ? -u_final * a.gu[bh] : T(0);  // P after the last token
  for (int64_t base = (N - 1) / kWarpSize * kWarpSize; base >= 0; base -= kWarpSize) {
    const int64_t t = base + lane;
    const bool in = t < N;
    T F = in ? f[t] : T(1), X = T(0), vg = T(0);
    if (in)
      for (int sl = 0; sl < slices; ++sl) {
        X += part_og[(bh * slices + sl) * N + t];
        vg += part_vg[(bh * slices + sl) * N + t];
      }
    // Suffix scan of the maps P -> F P + X over lanes lane..31.
    for (int off = 1; off < kWarpSize; off <<= 1) {
      const T F_down = __shfl_down_sync(kFullMask, F, off), X_down = __shfl_down_sync(kFullMask, X, off);
      if (lane + off < kWarpSize) {
        X = X + F * X_down;
        F = F * F_down;
      }
    }
    const T P = X + F * carry;
    if (in) a.ds[bh * N + t] = af[t] * (vg - P);
    carry = __shfl_sync(kFullMask, P, 0);
  }
  if (lane == 0) {
    const T u0 = a.u0[bh], U0 = a.U[bh * N];
    a.du0[bh] = u0 > T(0) && U0 > T(0) ? -exp_of(a.m0[bh] - a.M[bh * N]) / U0 * carry : T(0);
  }
}

// backward_finish_kernel with S consecutive tokens per lane: each lane
// composes its tokens' maps P -> f P + X into one, the warp scans those from
// the end, and each lane replays its tokens from the P after them.
template <typename T, int S>
__global__ void backward_finish_multi_kernel(ScanBackwardArgs<T> a, const T* f_in, const T* a_in, const T* part_og,
                                             const T* part_vg, int slices) {
  const int lane = threadIdx.x % kWarpSize;
  const int64_t bh = warp_sequence();
  if (bh >= a.BH) return;
  const int64_t N = a.N, step = static_cast<int64_t>(kWarpSize) * S;
  const T *f = f_in + bh * N, *af = a_in + bh * N;
  const T u_final = a.U[bh * N + N - 1];
  T carry = a.gu && u_final > T(0) ? -u_final * a.gu[bh] : T(0);  // P after the last token
  for (int64_t base = (N - 1) / step * step; base >= 0; base -= step) {
    const int64_t t0 = base + static_cast<int64_t>(lane) * S;
    T fk[S], xk[S], vgk[S];
    T F = T(1), X = T(0);  // this lane's tokens as one map, the last applied first
#pragma unroll
    for (int k = S - 1; k >= 0; --k) {
      const int64_t t = t0 + k;
      const bool in = t < N;
      fk[k] = in ? f[t] : T(1), xk[k] = T(0), vgk[k] = T(0);
      if (in)
        for (int sl = 0; sl < slices; ++sl) {
          xk[k] += part_og[(bh * slices + sl) * N + t];
          vgk[k] += part_vg[(bh * slices + sl) * N + t];
        }
      X = xk[k] + fk[k] * X;
      F = fk[k] * F;
    }
    for (int off = 1; off < kWarpSize; off <<= 1) {  // suffix scan of the lanes' maps over lanes lane..31
      const T F_down = __shfl_down_sync(kFullMask, F, off), X_down = __shfl_down_sync(kFullMask, X, off);
      if (lane + off < kWarpSize) {
        X = X + F * X_down;
        F = F * F_down;
      }
    }
    T after_F = __shfl_down_sync(kFullMask, F, 1), after_X = __shfl_down_sync(kFullMask, X, 1);  // lanes after
    if (lane == kWarpSize - 1) after_F = T(1), after_X = T(0);
    T P = after_X + after_F * carry;  // P after this lane's tokens
#pragma unroll
    for (int k = S - 1; k >= 0; --k) {
      P = xk[k] + fk[k] * P;
      if (t0 + k < N) a.ds[bh * N + t0 + k] = af[t0 + k] * (vgk[k] - P);
    }
    carry = __shfl_sync(kFullMask, P, 0);
  }
  if (lane == 0) {
    const T u0 = a.u0[bh], U0 = a.U[bh * N];
    a.du0[bh] = u0 > T(0) && U0 > T(0) ? -exp_of(a.m0[bh] - a.M[bh * N]) / U0 * carry : T(0);
  }
}

int64_t blocks_of(int64_t n, int64_t per_block) { return (n + per_block - 1) / per_block; }

// fn(integral_constant<TPW>, integral_constant<V>, integral_constant<bool>)
// for the variant's token count, the column count and whether the columns
// move as vectors (each checked by the caller: is_compiled, columns_per_lane_for).
template <typename Fn>
void with_compiled_cut(int tokens_per_warp, int columns, bool vectors, Fn&& fn) {
  auto with_tokens = [&](auto cols, auto vec) {
    if (tokens_per_warp == 4) fn(std::integral_constant<int, 4>{}, cols, vec);
    if (tokens_per_warp == 8) fn(std::integral_constant<int, 8>{}, cols, vec);
    if (tokens_per_warp == 16) fn(std::integral_constant<int, 16>{}, cols, vec);
  };
  // (One column is always aligned: no scalar-access copy of those kernels.)
  if (columns == 1) with_tokens(std::integral_constant<int, 1>{}, std::true_type{});
  if (columns == 2 && vectors) with_tokens(std::integral_constant<int, 2>{}, std::true_type{});
  if (columns == 2 && !vectors) with_tokens(std::integral_constant<int, 2>{}, std::false_type{});
  if (columns == 4 && vectors) with_tokens(std::integral_constant<int, 4>{}, std::true_type{});
  if (columns == 4 && !vectors) with_tokens(std::integral_constant<int, 4>{}, std::false_type{});
}

}  // namespace

int64_t scan_forward_workspace(int64_t BH, int64_t N, int64_t) { return 3 * BH * N; }

// (Sized for one column per lane, the most slices any variant makes.)
int64_t scan_backward_workspace(int64_t BH, int64_t N, int64_t d) { return 2 * BH * N + 2 * BH * slices_of(d) * N; }

template <typename T>
cudaError_t scan_forward(const ScanForwardArgs<T>& a, cudaStream_t stream, const ScanVariant& variant) {
  if (!is_compiled(variant)) return cudaErrorInvalidValue;
  if (a.BH == 0 || a.N == 0) return cudaSuccess;
  T* c = a.workspace;
  T* e = c + a.BH * a.N;
  T* inv_u = e + a.BH * a.N;
  const auto scalars = variant.scalar_tokens == 4 ? &forward_scalars_multi_kernel<T, 4> : &forward_scalars_kernel<T>;
  AAREN_LAUNCH(scalars, blocks_of(a.BH, kScalarWarps), kScalarWarps * kWarpSize, stream, a, c, e, inv_u);
  if (a.d == 0) return cudaGetLastError();  // (M and U exist without values: d = 0 is a valid, empty problem)
  const int columns = columns_per_lane_for(variant, a.d);
  const bool vectors = vector_aligned(columns, {a.v, a.o, a.w0, a.wN}, sizeof(T));
  const dim3 grid(static_cast<unsigned>(a.BH), static_cast<unsigned>(slices_of(a.d, columns)));
  const int threads = warps_for(variant, a.N) * kWarpSize;
  with_compiled_cut(variant.tokens_per_warp, columns, vectors, [&](auto tokens, auto cols, auto vec) {
    const auto kernel = &forward_values_kernel<T, decltype(tokens)::value, decltype(cols)::value, decltype(vec)::value>;
    AAREN_LAUNCH(kernel, grid, threads, stream, a, c, e, inv_u);
  });
  return cudaGetLastError();
}

template <typename T>
cudaError_t scan_backward(const ScanBackwardArgs<T>& a, cudaStream_t stream, const ScanVariant& variant) {
  if (!is_compiled(variant)) return cudaErrorInvalidValue;
  if (a.BH == 0 || a.N == 0) return cudaSuccess;
  const int columns = columns_per_lane_for(variant, a.d);
  const bool vectors = vector_aligned(columns, {a.v, a.o, a.g, a.gw, a.dv, a.dw0}, sizeof(T));
  const int slices = slices_of(a.d, columns);
  T* f = a.workspace;
  T* af = f + a.BH * a.N;
  T* part_og = af + a.BH * a.N;
  T* part_vg = part_og + a.BH * slices * a.N;
  AAREN_LAUNCH(backward_scalars_kernel<T>, blocks_of(a.BH * a.N, 256), 256, stream, a, f, af);
  const dim3 grid(static_cast<unsigned>(a.BH), static_cast<unsigned>(slices));
  const int threads = warps_for(variant, a.N) * kWarpSize;
  if (a.d > 0)
    with_compiled_cut(variant.tokens_per_warp, columns, vectors, [&](auto tokens, auto cols, auto vec) {
      const auto kernel =
          &backward_values_kernel<T, decltype(tokens)::value, decltype(cols)::value, decltype(vec)::value>;
      AAREN_LAUNCH(kernel, grid, threads, stream, a, f, af, part_og, part_vg);
    });
  const auto finish = variant.scalar_tokens == 4 ? &backward_finish_multi_kernel<T, 4> : &backward_finish_kernel<T>;
  AAREN_LAUNCH(finish, blocks_of(a.BH, kScalarWarps), kScalarWarps * kWarpSize, stream, a, f, af, part_og, part_vg,
               slices);
  return cudaGetLastError();
}

template cudaError_t scan_forward<float>(const ScanForwardArgs<float>&, cudaStream_t, const ScanVariant&);
template cudaError_t scan_forward<double>(const ScanForwardArgs<double>&, cudaStream_t, const ScanVariant&);
template cudaError_t scan_backward<float>(const ScanBackwardArgs<float>&, cudaStream_t, const ScanVariant&);
template cudaError_t scan_backward<double>(const ScanBackwardArgs<double>&, cudaStream_t, const ScanVariant&);

}  // namespace aaren::cuda
