// aaren-scan-kernel-bench: the CUDA scan kernels alone (no LibTorch), forward
// and backward, against a device-to-device copy timed in the same run, per
// sequence length. Bandwidth counts the bytes each must move at least: the
// copy reads and writes the values once; the forward reads v and writes o
// (plus scores, M, U); the backward reads v, o and the output gradient and
// writes dv (plus the per-token scalars). Times are medians over repeats,
// measured with CUDA events; the copy and every timed variant take turns
// within each repeat, so they share the clocks of the moment.
//
// --sweep times every cut of the value kernels (scan_variants.h) and reports,
// per length and direction, the fastest beside the default; --variants-out
// writes those fastest as the table the LibTorch wrapper reads
// (AAREN_SCAN_VARIANTS), --all-csv every variant's time.
//
//   aaren-scan-kernel-bench [--batch-size 64] [--heads 1] [--d-head 128]
//                           [--lengths 60,600,3000,10000] [--repeats 20]
//                           [--variant t8w16c1 | --sweep] [--csv FILE]
//                           [--all-csv FILE] [--variants-out FILE]
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "agents/scan/cuda/scan_kernels.h"
#include "base/atomic_file.h"

namespace {

#define CUDA_OK(call)                                                                             \
  do {                                                                                            \
    const cudaError_t err_ = (call);                                                              \
    if (err_ != cudaSuccess) {                                                                    \
      std::fprintf(stderr, "aaren-scan-kernel-bench: %s: %s\n", #call, cudaGetErrorString(err_)); \
      std::exit(1);                                                                               \
    }                                                                                             \
  } while (0)

template <typename T>
T* device_alloc(size_t n) {
  T* p = nullptr;
  CUDA_OK(cudaMalloc(&p, std::max<size_t>(n, 1) * sizeof(T)));
  return p;
}

void fill_random(float* device, size_t n, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> host(n);
  for (auto& x : host) x = normal(rng);
  CUDA_OK(cudaMemcpy(device, host.data(), n * sizeof(float), cudaMemcpyHostToDevice));
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::vector<int64_t> parse_list(const std::string& text) {
  std::vector<int64_t> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(std::stoll(item));
  return out;
}

int usage(const char* why) {
  std::fprintf(
      stderr,
      "aaren-scan-kernel-bench: %s\nusage: aaren-scan-kernel-bench [--batch-size 64] [--heads 1] [--d-head 128] "
      "[--lengths 60,600,3000,10000] [--repeats 20] [--variant t8w16c1 | --sweep] [--csv FILE] "
      "[--all-csv FILE] [--variants-out FILE]\n",
      why);
  return 2;
}

struct Options {
  int64_t batch = 64, heads = 1, d = 128, repeats = 20;
  std::vector<int64_t> lengths{60, 600, 3000, 10000};
  aaren::cuda::ScanVariant variant;
  bool sweep = false;
  std::string csv, all_csv, variants_out;
};

// One flag and its value into `o`; false for an unknown flag. Throws on a bad number.
bool set_flag(const std::string& flag, const std::string& value, Options& o) {
  if (flag == "--batch-size")
    o.batch = std::stoll(value);
  else if (flag == "--heads")
    o.heads = std::stoll(value);
  else if (flag == "--d-head")
    o.d = std::stoll(value);
  else if (flag == "--repeats")
    o.repeats = std::stoll(value);
  else if (flag == "--lengths")
    o.lengths = parse_list(value);
  else if (flag == "--csv")
    o.csv = value;
  else if (flag == "--all-csv")
    o.all_csv = value;
  else if (flag == "--variants-out")
    o.variants_out = value;
  else if (flag == "--variant") {
    const auto v = aaren::cuda::parse_variant(value);
    if (!v)
      throw std::invalid_argument("--variant: expected tTwWcC[s4] (T 4, 8, 16; W 1-16; C 1, 2, 4), got '" + value +
                                  "'");
    o.variant = *v;
  } else
    return false;
  return true;
}

// The flags into `o`; -1 to go on, else the exit code (help printed, or a usage error).
int parse_flags(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "-h" || flag == "--help") {
      std::printf("see the comment at the top of bench/cuda/scan_kernel_bench.cpp\n");
      return 0;
    }
    if (flag == "--sweep") {
      o.sweep = true;
      continue;
    }
    if (i + 1 >= argc) return usage(("flag " + flag + " needs a value").c_str());
    const std::string value = argv[++i];
    try {
      if (!set_flag(flag, value, o)) return usage(("unknown flag " + flag).c_str());
    } catch (const std::invalid_argument& e) {
      return usage(std::string(e.what()).rfind("--", 0) == 0
                       ? e.what()
                       : ("flag " + flag + ": not a number: '" + value + "'").c_str());
    } catch (const std::exception&) {
      return usage(("flag " + flag + ": not a number: '" + value + "'").c_str());
    }
  }
  if (o.batch < 1 || o.heads < 1 || o.d < 1 || o.repeats < 1 || o.lengths.empty())
    return usage("--batch-size, --heads, --d-head, --repeats must be >= 1 and --lengths non-empty");
  if (!o.sweep && (!o.all_csv.empty() || !o.variants_out.empty()))
    return usage("--all-csv and --variants-out need --sweep");
  return -1;
}

// Times `launch` on the default stream between two events (ms).
template <typename Launch>
double timed_ms(cudaEvent_t start, cudaEvent_t stop, Launch&& launch) {
  CUDA_OK(cudaEventRecord(start));
  launch();
  CUDA_OK(cudaEventRecord(stop));
  CUDA_OK(cudaEventSynchronize(stop));
  float ms = 0;
  CUDA_OK(cudaEventElapsedTime(&ms, start, stop));
  return static_cast<double>(ms);
}

// One length's problem on the device: random scores, values and output
// gradients, no padding, an empty initial state.
struct DeviceProblem {
  int64_t BH, N, d, values;
  std::vector<void*> owned;
  aaren::cuda::ScanForwardArgs<float> fa;
  aaren::cuda::ScanBackwardArgs<float> ba;
  float* copy;

  float* alloc(int64_t n) {
    owned.push_back(device_alloc<float>(n));
    return static_cast<float*>(owned.back());
  }
  DeviceProblem(const Options& o, int64_t length, std::mt19937& rng)
      : BH(o.batch * o.heads), N(length), d(o.d), values(BH * N * d) {
    float *s = alloc(BH * N), *v = alloc(values), *out = alloc(values), *g = alloc(values), *dv = alloc(values);
    float *M = alloc(BH * N), *U = alloc(BH * N), *ds = alloc(BH * N), *m0 = alloc(BH), *u0 = alloc(BH);
    float *du0 = alloc(BH), *w0 = alloc(BH * d), *wN = alloc(BH * d), *dw0 = alloc(BH * d);
    float* fw = alloc(aaren::cuda::scan_forward_workspace(BH, N, d));
    float* bw = alloc(aaren::cuda::scan_backward_workspace(BH, N, d));
    copy = alloc(values);
    bool* valid = device_alloc<bool>(o.batch * N);
    owned.push_back(valid);
    fill_random(s, BH * N, rng);
    fill_random(v, values, rng);
    fill_random(g, values, rng);
    CUDA_OK(cudaMemset(valid, 1, o.batch * N));
    const std::vector<float> empty_m(BH, -std::numeric_limits<float>::infinity());
    CUDA_OK(cudaMemcpy(m0, empty_m.data(), BH * sizeof(float), cudaMemcpyHostToDevice));
    CUDA_OK(cudaMemset(u0, 0, BH * sizeof(float)));
    CUDA_OK(cudaMemset(w0, 0, BH * d * sizeof(float)));
    fa.BH = BH, fa.H = o.heads, fa.N = N, fa.d = d, fa.s = s, fa.v = v, fa.valid = valid, fa.m0 = m0, fa.u0 = u0;
    fa.w0 = w0, fa.o = out, fa.M = M, fa.U = U, fa.wN = wN, fa.workspace = fw;
    ba.BH = BH, ba.H = o.heads, ba.N = N, ba.d = d, ba.s = s, ba.v = v, ba.valid = valid, ba.m0 = m0, ba.u0 = u0;
    ba.o = out, ba.M = M, ba.U = U, ba.g = g, ba.ds = ds, ba.dv = dv, ba.du0 = du0, ba.dw0 = dw0, ba.workspace = bw;
  }
  DeviceProblem(const DeviceProblem&) = delete;
  ~DeviceProblem() {
    for (void* p : owned) cudaFree(p);
  }
};

// Median times (ms) of one length: the copy, and forward and backward per variant.
struct LengthTimes {
  double copy = 0;
  std::vector<double> forward, backward;  // one per variant, in order
};

LengthTimes time_length(DeviceProblem& p, const std::vector<aaren::cuda::ScanVariant>& variants, int64_t repeats) {
  cudaEvent_t start, stop;
  CUDA_OK(cudaEventCreate(&start));
  CUDA_OK(cudaEventCreate(&stop));
  auto timed = [&](auto&& launch) { return timed_ms(start, stop, launch); };
  std::vector<double> copy;
  std::vector<std::vector<double>> fwd(variants.size()), bwd(variants.size());
  for (int64_t r = 0; r < repeats + 2; ++r) {  // two warm-up rounds
    const double c =
        timed([&] { CUDA_OK(cudaMemcpyAsync(p.copy, p.fa.v, p.values * sizeof(float), cudaMemcpyDeviceToDevice)); });
    if (r >= 2) copy.push_back(c);
    for (size_t i = 0; i < variants.size(); ++i) {
      const double f = timed([&] { CUDA_OK(aaren::cuda::scan_forward(p.fa, nullptr, variants[i])); });
      const double b = timed([&] { CUDA_OK(aaren::cuda::scan_backward(p.ba, nullptr, variants[i])); });
      if (r >= 2) fwd[i].push_back(f), bwd[i].push_back(b);
    }
  }
  CUDA_OK(cudaEventDestroy(start));
  CUDA_OK(cudaEventDestroy(stop));
  LengthTimes t;
  t.copy = median(copy);
  for (size_t i = 0; i < variants.size(); ++i)
    t.forward.push_back(median(fwd[i])), t.backward.push_back(median(bwd[i]));
  return t;
}

size_t fastest(const std::vector<double>& ms) {
  return static_cast<size_t>(std::min_element(ms.begin(), ms.end()) - ms.begin());
}

// The bytes each must move at least, as in the comment at the top.
struct Traffic {
  double copy, forward, backward;
};
Traffic traffic_of(const Options& o, int64_t N) {
  const double BH = static_cast<double>(o.batch * o.heads), values = BH * N * o.d, f4 = sizeof(float);
  return {2.0 * values * f4, 2.0 * values * f4 + 3.0 * BH * N * f4, 4.0 * values * f4 + 4.0 * BH * N * f4};
}

// One length's row: per direction the chosen variant (the fastest with
// --sweep), its median, GB/s and share of the copy's, and the default's share.
void report_length(const cudaDeviceProp& prop, const Options& o, int64_t N,
                   const std::vector<aaren::cuda::ScanVariant>& variants, const LengthTimes& t,
                   std::ostringstream& out) {
  const Traffic bytes = traffic_of(o, N);
  const double gc = bytes.copy / t.copy / 1e6;
  const size_t f = o.sweep ? fastest(t.forward) : 0, b = o.sweep ? fastest(t.backward) : 0;
  const double gf = bytes.forward / t.forward[f] / 1e6, gb = bytes.backward / t.backward[b] / 1e6;
  // Index 0: with --sweep the default (variants_to_time puts it first), else the one variant timed.
  const double df = bytes.forward / t.forward[0] / 1e6 / gc, db = bytes.backward / t.backward[0] / 1e6 / gc;
  const std::string vf = aaren::cuda::to_string(variants[f]), vb = aaren::cuda::to_string(variants[b]);
  std::printf("%8lld %10.1f %9s %9.4f %9.2f %9.2f %9s %9.4f %9.2f %9.2f\n", (long long)N, gc, vf.c_str(), t.forward[f],
              gf / gc, df, vb.c_str(), t.backward[b], gb / gc, db);
  out << '"' << prop.name << "\"," << o.batch << ',' << o.heads << ',' << o.d << ',' << N << ',' << t.copy << ',' << gc
      << ',' << vf << ',' << t.forward[f] << ',' << gf << ',' << gf / gc << ',' << df << ',' << vb << ','
      << t.backward[b] << ',' << gb << ',' << gb / gc << ',' << db << '\n';
}

// Every variant's time at one length, as rows of --all-csv.
void all_variants_rows(const Options& o, int64_t N, const std::vector<aaren::cuda::ScanVariant>& variants,
                       const LengthTimes& t, std::ostringstream& out) {
  const Traffic bytes = traffic_of(o, N);
  const double gc = bytes.copy / t.copy / 1e6;
  for (size_t i = 0; i < variants.size(); ++i)
    out << o.batch * o.heads << ',' << N << ',' << o.d << ',' << aaren::cuda::to_string(variants[i]) << ','
        << t.forward[i] << ',' << bytes.forward / t.forward[i] / 1e6 / gc << ',' << t.backward[i] << ','
        << bytes.backward / t.backward[i] / 1e6 / gc << '\n';
}

// The variants to time: the one asked for, or with --sweep the default first, then every other cut.
std::vector<aaren::cuda::ScanVariant> variants_to_time(const Options& o) {
  if (!o.sweep) return {o.variant};
  std::vector<aaren::cuda::ScanVariant> out{aaren::cuda::ScanVariant{}};
  for (const auto& v : aaren::cuda::sweep_variants())
    if (!(v == aaren::cuda::ScanVariant{})) out.push_back(v);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (const int code = parse_flags(argc, argv, options); code >= 0) return code;
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::fprintf(stderr, "aaren-scan-kernel-bench: no usable CUDA device\n");
    return 1;
  }
  cudaDeviceProp prop{};
  CUDA_OK(cudaGetDeviceProperties(&prop, 0));
  const auto variants = variants_to_time(options);
  std::printf("device: %s; batch %lld x heads %lld, d_head %lld, float32, median of %lld repeats; %s\n", prop.name,
              (long long)options.batch, (long long)options.heads, (long long)options.d, (long long)options.repeats,
              options.sweep ? "the fastest of every cut (default: t8w16c1)" : "one cut");
  std::printf("%8s %10s %9s %9s %9s %9s %9s %9s %9s %9s\n", "tokens", "copy_GB/s", "fwd_cut", "fwd_ms", "fwd/copy",
              "dflt/copy", "bwd_cut", "bwd_ms", "bwd/copy", "dflt/copy");
  std::ostringstream rows, all;  // the CSVs, written whole at the end (base/atomic_file.h)
  rows << "device,batch,heads,d_head,tokens,copy_ms,copy_gbps,fwd_variant,fwd_ms,fwd_gbps,fwd_over_copy,"
          "fwd_default_over_copy,bwd_variant,bwd_ms,bwd_gbps,bwd_over_copy,bwd_default_over_copy\n";
  all << "BH,tokens,d_head,variant,fwd_ms,fwd_over_copy,bwd_ms,bwd_over_copy\n";
  std::vector<aaren::cuda::VariantRow> best;
  std::mt19937 rng(0);
  for (const int64_t N : options.lengths) {
    DeviceProblem problem(options, N, rng);
    const LengthTimes t = time_length(problem, variants, options.repeats);
    report_length(prop, options, N, variants, t, rows);
    all_variants_rows(options, N, variants, t, all);
    const int64_t BH = options.batch * options.heads;
    best.push_back({{"forward", "float", BH, N, options.d}, variants[fastest(t.forward)]});
    best.push_back({{"backward", "float", BH, N, options.d}, variants[fastest(t.backward)]});
  }
  for (const auto& [path, text] : std::vector<std::pair<std::string, std::string>>{
           {options.csv, rows.str()},
           {options.all_csv, all.str()},
           {options.variants_out,
            aaren::cuda::format_variant_table(aaren::cuda::VariantTable(best),
                                              "the fastest cut per shape on " + std::string(prop.name) +
                                                  ", measured by aaren-scan-kernel-bench --sweep (float32)")}}) {
    if (path.empty()) continue;
    aaren::base::write_file_atomically(path, text);
    std::printf("wrote %s\n", path.c_str());
  }
  return 0;
}
