// The CUDA scan kernels against a float64 brute force (every prefix attended
// explicitly; gradients from the closed form of softmax attention), on the
// GPU, with no LibTorch: padding (scattered and leading), initial states,
// scores up to 1e4, lengths that cut chunks and warps unevenly, float and
// double, and bitwise determinism; the default cut on every case, the other
// cuts of the value kernels (scan_variants.h) on fewer. Exits 77 (ctest: skipped) where no CUDA
// device can be used, saying why.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "agents/scan/cuda/scan_kernels.h"

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

struct Case {
  int64_t B, H, N, d;
  double score_scale;
  std::string mask;  // "none", "scattered", "leading"
  bool initial;      // a non-empty initial state
  bool state_grads;  // gradients arrive at the final u and w too
};

// Inputs and results for one case, in float64 on the host.
struct Problem {
  int64_t B, H, N, d, BH;
  std::vector<double> s, v, m0, u0, w0, g, gu, gw;
  std::vector<char> valid;  // [B][N]
};

struct Result {
  std::vector<double> o, M, U, wN, ds, dv, du0, dw0;
};

Problem make_problem(const Case& c, std::mt19937_64& rng) {
  Problem p{c.B, c.H, c.N, c.d, c.B * c.H, {}, {}, {}, {}, {}, {}, {}, {}, {}};
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  auto fill = [&](std::vector<double>& x, int64_t n, double scale) {
    x.resize(n);
    for (auto& e : x) e = scale * normal(rng);
  };
  fill(p.s, p.BH * c.N, c.score_scale);
  fill(p.v, p.BH * c.N * c.d, 1.0);
  fill(p.g, p.BH * c.N * c.d, 1.0);
  fill(p.gu, p.BH, 1.0);
  fill(p.gw, p.BH * c.d, 1.0);
  p.valid.assign(c.B * c.N, 1);
  for (int64_t b = 0; b < c.B; ++b)
    for (int64_t t = 0; t < c.N; ++t) {
      if (c.mask == "scattered") p.valid[b * c.N + t] = uniform(rng) > 0.2;
      if (c.mask == "leading") p.valid[b * c.N + t] = t >= std::min<int64_t>(5 + b, c.N - 1);
    }
  p.m0.assign(p.BH, kNegInf);
  p.u0.assign(p.BH, 0.0);
  p.w0.assign(p.BH * c.d, 0.0);
  if (c.initial) {
    for (auto& m : p.m0) m = c.score_scale * normal(rng);
    for (auto& u : p.u0) u = 0.5 + 1.5 * uniform(rng);
    fill(p.w0, p.BH * c.d, 1.0);
  }
  return p;
}

// e^{x-R}, with e^{-inf} = 0 (an empty initial state, m0 = -inf).
double weight(double x, double R) { return x == kNegInf ? 0.0 : std::exp(x - R); }

// The final state (u_N, w_N) relative to m_N = R, the running max after the
// last token: u_N = sum_i e^{s_i-R} (+ e^{m0-R} u0), w_N likewise with v_i
// (and w0); with m held constant, dw_N/dv_i = e^{s_i-R}, du_N/ds_i = e^{s_i-R}
// and dw_N/ds_i = e^{s_i-R} v_i: the gradients gu, gw added to ds, dv, du0, dw0.
void add_final_state_gradients(const Problem& p, int64_t bh, double R, Result& r) {
  const int64_t N = p.N, d = p.d;
  const double* s = &p.s[bh * N];
  const double* v = &p.v[bh * N * d];
  const char* valid = &p.valid[(bh / p.H) * N];
  const double m0 = p.m0[bh], u0 = p.u0[bh];
  const double* w0 = &p.w0[bh * d];
  const double uN = r.U[bh * N + N - 1];
  for (int64_t j = 0; j < d; ++j) r.wN[bh * d + j] = u0 > 0 ? weight(m0, R) * w0[j] : 0.0;
  for (int64_t i = 0; i < N; ++i)
    if (valid[i])
      for (int64_t j = 0; j < d; ++j) r.wN[bh * d + j] += weight(s[i], R) * v[i * d + j];
  if (uN <= 0) return;
  const double gu = p.gu[bh];
  const double* gw = &p.gw[bh * d];
  for (int64_t i = 0; i < N; ++i) {
    if (!valid[i]) continue;
    const double e = weight(s[i], R);
    double vgw = 0;
    for (int64_t j = 0; j < d; ++j) {
      r.dv[(bh * N + i) * d + j] += e * gw[j];
      vgw += v[i * d + j] * gw[j];
    }
    r.ds[bh * N + i] += e * (gu + vgw);
  }
  if (u0 > 0) {
    r.du0[bh] += weight(m0, R) * gu;
    for (int64_t j = 0; j < d; ++j) r.dw0[bh * d + j] += weight(m0, R) * gw[j];
  }
}

// Brute force in float64: o_k = (sum_{i<=k} e^{s_i-R} v_i + e^{m0-R} w0) / Z_k
// over valid i, R = the running max; gradients of o, and of the final
// (u, w) with m a constant, written out term by term.
Result brute_force(const Problem& p) {
  const int64_t N = p.N, d = p.d;
  Result r;
  r.o.assign(p.BH * N * d, 0.0);
  r.M.assign(p.BH * N, 0.0);
  r.U.assign(p.BH * N, 0.0);
  r.wN.assign(p.BH * d, 0.0);
  r.ds.assign(p.BH * N, 0.0);
  r.dv.assign(p.BH * N * d, 0.0);
  r.du0.assign(p.BH, 0.0);
  r.dw0.assign(p.BH * d, 0.0);
  for (int64_t bh = 0; bh < p.BH; ++bh) {
    const double* s = &p.s[bh * N];
    const double* v = &p.v[bh * N * d];
    const double* g = &p.g[bh * N * d];
    const char* valid = &p.valid[(bh / p.H) * N];
    const double m0 = p.m0[bh], u0 = p.u0[bh];
    const double* w0 = &p.w0[bh * d];
    double R = m0;
    for (int64_t k = 0; k < N; ++k) {
      if (valid[k]) R = std::max(R, s[k]);
      double Z = u0 * weight(m0, R);
      for (int64_t i = 0; i <= k; ++i)
        if (valid[i]) Z += weight(s[i], R);
      r.M[bh * N + k] = R;
      r.U[bh * N + k] = Z;
      if (!valid[k] || Z == 0) continue;
      std::vector<double> o(d, 0.0);
      const double p0 = u0 > 0 ? weight(m0, R) / Z : 0.0;
      for (int64_t j = 0; j < d; ++j) o[j] = p0 * w0[j];
      for (int64_t i = 0; i <= k; ++i)
        if (valid[i])
          for (int64_t j = 0; j < d; ++j) o[j] += weight(s[i], R) / Z * v[i * d + j];
      double og = 0;
      for (int64_t j = 0; j < d; ++j) {
        r.o[(bh * N + k) * d + j] = o[j];
        og += o[j] * g[k * d + j];
      }
      // do_k/dv_i = p_ki, do_k/ds_i = p_ki (v_i - o_k), do_k/dw0 = p_k0, do_k/du0 = -p_k0 o_k.
      for (int64_t i = 0; i <= k; ++i) {
        if (!valid[i]) continue;
        const double pki = weight(s[i], R) / Z;
        double vg = 0;
        for (int64_t j = 0; j < d; ++j) {
          r.dv[(bh * N + i) * d + j] += pki * g[k * d + j];
          vg += v[i * d + j] * g[k * d + j];
        }
        r.ds[bh * N + i] += pki * (vg - og);
      }
      if (u0 > 0) {
        for (int64_t j = 0; j < d; ++j) r.dw0[bh * d + j] += p0 * g[k * d + j];
        r.du0[bh] -= p0 * og;
      }
    }
    add_final_state_gradients(p, bh, R, r);
  }
  return r;
}

#define CUDA_OK(call)                                                                               \
  do {                                                                                              \
    const cudaError_t err_ = (call);                                                                \
    if (err_ != cudaSuccess) {                                                                      \
      std::fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(err_)); \
      std::exit(1);                                                                                 \
    }                                                                                               \
  } while (0)

// A device copy of a host vector, converted to T.
template <typename T>
struct DeviceArray {
  T* ptr = nullptr;
  size_t n = 0;
  explicit DeviceArray(size_t count) : n(count) { CUDA_OK(cudaMalloc(&ptr, std::max<size_t>(1, n) * sizeof(T))); }
  template <typename U>
  explicit DeviceArray(const std::vector<U>& host) : DeviceArray(host.size()) {
    std::vector<T> tmp(host.begin(), host.end());
    CUDA_OK(cudaMemcpy(ptr, tmp.data(), n * sizeof(T), cudaMemcpyHostToDevice));
  }
  DeviceArray(const DeviceArray&) = delete;
  ~DeviceArray() { cudaFree(ptr); }
  std::vector<double> to_host() const {
    std::vector<T> tmp(n);
    CUDA_OK(cudaMemcpy(tmp.data(), ptr, n * sizeof(T), cudaMemcpyDeviceToHost));
    return {tmp.begin(), tmp.end()};
  }
};

template <typename T>
Result run_gpu(const Problem& p, bool state_grads, const aaren::cuda::ScanVariant& variant) {
  const int64_t N = p.N, d = p.d, BH = p.BH;
  DeviceArray<T> s(p.s), v(p.v), m0(p.m0), u0(p.u0), w0(p.w0), g(p.g), gu(p.gu), gw(p.gw);
  DeviceArray<char> valid_bytes(p.valid);  // 0/1 bytes: the kernels read them as bool
  const bool* valid = reinterpret_cast<const bool*>(valid_bytes.ptr);
  DeviceArray<T> o(BH * N * d), M(BH * N), U(BH * N), wN(BH * d);
  DeviceArray<T> ds(BH * N), dv(BH * N * d), du0(BH), dw0(BH * d);
  DeviceArray<T> fw(aaren::cuda::scan_forward_workspace(BH, N, d)), bw(aaren::cuda::scan_backward_workspace(BH, N, d));
  aaren::cuda::ScanForwardArgs<T> fa;
  fa.BH = BH, fa.H = p.H, fa.N = N, fa.d = d;
  fa.s = s.ptr, fa.v = v.ptr, fa.valid = valid, fa.m0 = m0.ptr, fa.u0 = u0.ptr, fa.w0 = w0.ptr;
  fa.o = o.ptr, fa.M = M.ptr, fa.U = U.ptr, fa.wN = wN.ptr, fa.workspace = fw.ptr;
  CUDA_OK(aaren::cuda::scan_forward(fa, nullptr, variant));
  aaren::cuda::ScanBackwardArgs<T> ba;
  ba.BH = BH, ba.H = p.H, ba.N = N, ba.d = d;
  ba.s = s.ptr, ba.v = v.ptr, ba.valid = valid, ba.m0 = m0.ptr, ba.u0 = u0.ptr;
  ba.o = o.ptr, ba.M = M.ptr, ba.U = U.ptr, ba.g = g.ptr;
  ba.gu = state_grads ? gu.ptr : nullptr, ba.gw = state_grads ? gw.ptr : nullptr;
  ba.ds = ds.ptr, ba.dv = dv.ptr, ba.du0 = du0.ptr, ba.dw0 = dw0.ptr, ba.workspace = bw.ptr;
  CUDA_OK(aaren::cuda::scan_backward(ba, nullptr, variant));
  CUDA_OK(cudaDeviceSynchronize());
  return {o.to_host(),  M.to_host(),  U.to_host(),   wN.to_host(),
          ds.to_host(), dv.to_host(), du0.to_host(), dw0.to_host()};
}

// max |a - b| / (1 + max |b|) over finite b: absolute near zero, relative
// for large values; equal infinities (an empty prefix's M) agree, and a NaN
// or a mismatched infinity is an infinite error.
double error_of(const std::vector<double>& a, const std::vector<double>& b) {
  double worst = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == b[i]) continue;
    if (!std::isfinite(a[i]) || !std::isfinite(b[i])) return std::numeric_limits<double>::infinity();
    worst = std::max(worst, std::abs(a[i] - b[i]));
    scale = std::max(scale, std::abs(b[i]));
  }
  return worst / (1.0 + scale);
}

bool bitwise_equal(const Result& a, const Result& b) {
  return a.o == b.o && a.ds == b.ds && a.dv == b.dv && a.du0 == b.du0 && a.dw0 == b.dw0 && a.wN == b.wN;
}

template <typename T>
bool check(const Case& c, const Problem& p, const Result& truth, double tolerance,
           const aaren::cuda::ScanVariant& variant, bool twice) {
  const Result r = run_gpu<T>(p, c.state_grads, variant);
  const Result& ref = truth;
  // U is compared where it is relative to the same M (M itself is a max: exact).
  const double errors[] = {error_of(r.o, ref.o),     error_of(r.M, ref.M),    error_of(r.U, ref.U),
                           error_of(r.wN, ref.wN),   error_of(r.ds, ref.ds),  error_of(r.dv, ref.dv),
                           error_of(r.du0, ref.du0), error_of(r.dw0, ref.dw0)};
  const char* names[] = {"o", "M", "U", "w_N", "ds", "dv", "du0", "dw0"};
  bool ok = true;
  std::string worst;
  for (int i = 0; i < 8; ++i) {
    if (!(errors[i] <= tolerance)) {
      ok = false;
      worst += std::string(" ") + names[i] + "=" + std::to_string(errors[i]);
    }
  }
  const bool deterministic = !twice || bitwise_equal(r, run_gpu<T>(p, c.state_grads, variant));
  std::printf(
      "%s %-8s %-6s B=%lld H=%lld N=%lld d=%lld scores x%g mask=%s initial=%d state_grads=%d: o %.2e ds %.2e dv "
      "%.2e%s%s\n",
      ok && deterministic ? "ok  " : "FAIL", aaren::cuda::to_string(variant).c_str(),
      sizeof(T) == 4 ? "float" : "double", (long long)c.B, (long long)c.H, (long long)c.N, (long long)c.d,
      c.score_scale, c.mask.c_str(), c.initial, c.state_grads, errors[0], errors[4], errors[5], worst.c_str(),
      deterministic ? "" : " (two runs differ)");
  return ok && deterministic;
}

// The cases each build runs: the default cut on `cases`, every cut on
// `variant_cases`, and (on the emulator) a Latin square of cuts on `square_cases`.
struct CaseTables {
  std::vector<Case> cases, variant_cases, square_cases;
  std::vector<aaren::cuda::ScanVariant> variants, square;
  bool emulated = false;
};

CaseTables case_tables() {
  CaseTables t;
#ifdef AAREN_SIMT_EMULATOR
  // On the emulator (a fiber per CUDA thread): small, but across
  // chunk (128 tokens), warp (8 tokens) and column-slice (32) boundaries.
  t.cases = {
      {1, 1, 1, 1, 1.0, "none", false, true},         {2, 2, 7, 5, 1.0, "scattered", true, true},
      {1, 1, 33, 32, 1.0, "none", false, false},      {1, 2, 100, 33, 30.0, "scattered", false, true},
      {2, 1, 129, 8, 1.0, "leading", true, true},     {1, 1, 300, 40, 1e4, "scattered", true, true},
      {1, 1, 9, 0, 1.0, "scattered", true, true},      // no value columns: M, U and ds (from gu) still
      {1, 2, 517, 128, 1e4, "scattered", true, true},  // 4 column slices, chunks and 128-token steps cut unevenly
  };
  // Every cut the sweep times, on one shape with a mask, an initial state and
  // state gradients, whose head size takes 4 columns per lane and whose 24
  // tokens cross the smallest chunk (4 warps x 4 tokens); then a Latin
  // square of them (each token count with each column count once, the warp
  // counts spread over them, 4 scalar tokens on half and on the default cut)
  // on shapes whose head sizes take 2 and 1 columns per lane and whose
  // lengths cut their chunks and 128-token scalar steps unevenly.
  t.variants = aaren::cuda::sweep_variants();
  t.variant_cases = {{1, 1, 24, 8, 1.0, "scattered", true, true}};
  t.emulated = true;
  t.square = {{4, 4, 1, 4},  {4, 8, 2, 1},  {4, 16, 4, 4},  {8, 4, 2, 1}, {8, 8, 4, 4},
              {16, 4, 4, 1}, {16, 8, 1, 4}, {16, 16, 2, 1}, {8, 16, 1, 4}};
  t.square_cases = {
      {1, 1, 150, 12, 30.0, "leading", true, true},
      {1, 1, 20, 6, 1e4, "leading", false, true},
  };
#else
  t.cases = {
      {1, 1, 1, 1, 1.0, "none", false, true},         {2, 2, 7, 5, 1.0, "scattered", true, true},
      {3, 1, 33, 32, 1.0, "none", false, false},      {2, 2, 100, 33, 30.0, "scattered", false, true},
      {2, 1, 129, 64, 1.0, "leading", false, true},   {2, 1, 129, 64, 1.0, "leading", true, true},
      {1, 2, 517, 128, 1e4, "scattered", true, true}, {1, 1, 1000, 48, 1e4, "none", false, true},
      {2, 1, 3000, 64, 1.0, "scattered", true, true}, {1, 1, 3001, 128, 3.0, "none", true, false},
      {2, 1, 50, 0, 1.0, "scattered", true, true},
  };
  // Every cut the sweep times (scripts/gpu-check.sh), on shapes of every column count.
  t.variants = aaren::cuda::sweep_variants();
  t.variant_cases = {
      {1, 2, 37, 8, 1.0, "scattered", true, true},
      {2, 1, 517, 128, 1e4, "leading", true, true},
      {2, 1, 1000, 36, 30.0, "scattered", false, true},
      {1, 1, 3001, 6, 3.0, "none", true, true},
  };
  // (no Latin square: every cut runs every case above)
#endif
  return t;
}

}  // namespace

int main() {
  int devices = 0;
  const cudaError_t err = cudaGetDeviceCount(&devices);
  if (err != cudaSuccess || devices == 0) {
    std::printf("test_scan_kernels: skipped: no usable CUDA device (%s)\n",
                err != cudaSuccess ? cudaGetErrorString(err) : "0 devices");
    return 77;
  }
  cudaDeviceProp prop{};
  CUDA_OK(cudaGetDeviceProperties(&prop, 0));
  std::printf("test_scan_kernels on %s\n", prop.name);
  const CaseTables t = case_tables();
  std::mt19937_64 rng(20241127);
  bool ok = true;
  // One case's truth (float64, and for the inputs rounded to float), checked
  // against each of the variants.
  auto run_case = [&](const Case& c, const std::vector<aaren::cuda::ScanVariant>& cuts, bool twice) {
    Problem p = make_problem(c, rng);
    if (!c.state_grads) {  // the GPU gets null gu, gw: the truth has zeros there
      std::fill(p.gu.begin(), p.gu.end(), 0.0);
      std::fill(p.gw.begin(), p.gw.end(), 0.0);
    }
    const Result truth = brute_force(p);
    Problem pf = p;
    for (auto* x : {&pf.s, &pf.v, &pf.m0, &pf.u0, &pf.w0, &pf.g, &pf.gu, &pf.gw})
      for (auto& e : *x) e = static_cast<double>(static_cast<float>(e));
    const Result truth_f = brute_force(pf);
    for (const auto& variant : cuts) {
      ok &= check<double>(c, p, truth, 1e-9, variant, twice);
      ok &= check<float>(c, pf, truth_f, 2e-4, variant, twice);
    }
  };
  for (const auto& c : t.cases) run_case(c, {aaren::cuda::ScanVariant{}}, true);
  for (const auto& c : t.variant_cases)
    run_case(c, t.variants, !t.emulated);  // (determinism: the square, on the emulator)
  for (const auto& c : t.square_cases) run_case(c, t.square, true);
  // A variant that is not compiled in is refused, not run.
  aaren::cuda::ScanForwardArgs<float> none;
  const bool refused = aaren::cuda::scan_forward(none, nullptr, {7, 16, 1}) != cudaSuccess;
  std::printf("%s an uncompiled variant (t7w16c1) is refused\n", refused ? "ok  " : "FAIL");
  ok &= refused;
  std::printf("%s\n", ok ? "all cases passed" : "SOME CASES FAILED");
  return ok ? 0 : 1;
}
