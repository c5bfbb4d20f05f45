// aaren-scan-kernel-bench: the CUDA scan kernels alone (no LibTorch), forward
// and backward, against a device-to-device copy timed in the same run, per
// sequence length. Bandwidth counts the bytes each must move at least: the
// copy reads and writes the values once; the forward reads v and writes o
// (plus scores, M, U); the backward reads v, o and the output gradient and
// writes dv (plus the per-token scalars). Times are medians over repeats,
// measured with CUDA events; the three take turns within each repeat.
//
//   aaren-scan-kernel-bench [--batch-size 64] [--heads 1] [--d-head 128]
//                           [--lengths 60,600,3000,10000] [--repeats 20] [--csv FILE]
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <sstream>
#include <string>
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
  std::fprintf(stderr,
               "aaren-scan-kernel-bench: %s\nusage: aaren-scan-kernel-bench [--batch-size 64] [--heads 1] [--d-head 128] "
               "[--lengths 60,600,3000,10000] [--repeats 20] [--csv FILE]\n",
               why);
  return 2;
}

struct Options {
  int64_t batch = 64, heads = 1, d = 128, repeats = 20;
  std::vector<int64_t> lengths{60, 600, 3000, 10000};
  std::string csv;
};

// The flags into `o`; -1 to go on, else the exit code (help printed, or a usage error).
int parse_flags(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "-h" || flag == "--help") {
      std::printf(
          "see the comment at the top of bench/cuda/scan_kernel_bench.cpp; flags: --batch-size --heads --d-head "
          "--lengths --repeats --csv\n");
      return 0;
    }
    if (i + 1 >= argc) return usage(("flag " + flag + " needs a value").c_str());
    const std::string value = argv[++i];
    try {
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
      else
        return usage(("unknown flag " + flag).c_str());
    } catch (const std::exception&) {
      return usage(("flag " + flag + ": not a number list: '" + value + "'").c_str());
    }
  }
  if (o.batch < 1 || o.heads < 1 || o.d < 1 || o.repeats < 1 || o.lengths.empty())
    return usage("--batch-size, --heads, --d-head, --repeats must be >= 1 and --lengths non-empty");
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

// One length's row: medians in ms, and the bytes each must move at least, as
// GB/s against the device-to-device copy of the values.
void report_length(const cudaDeviceProp& prop, const Options& o, int64_t N, double mc, double mf, double mb,
                   std::ostringstream& out) {
  const int64_t BH = o.batch * o.heads, values = BH * N * o.d;
  const double f4 = sizeof(float);
  const double copy_bytes = 2.0 * values * f4;
  const double fwd_bytes = 2.0 * values * f4 + 3.0 * BH * N * f4;
  const double bwd_bytes = 4.0 * values * f4 + 4.0 * BH * N * f4;
  const double gc = copy_bytes / mc / 1e6, gf = fwd_bytes / mf / 1e6, gb = bwd_bytes / mb / 1e6;
  std::printf("%8lld %10.4f %10.1f %10.4f %10.1f %10.2f %10.4f %10.1f %10.2f\n", (long long)N, mc, gc, mf, gf, gf / gc,
              mb, gb, gb / gc);
  if (!o.csv.empty())
    out << '"' << prop.name << "\"," << o.batch << ',' << o.heads << ',' << o.d << ',' << N << ',' << mc << ',' << gc
        << ',' << mf << ',' << gf << ',' << gf / gc << ',' << mb << ',' << gb << ',' << gb / gc << '\n';
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (const int code = parse_flags(argc, argv, options); code >= 0) return code;
  const int64_t batch = options.batch, heads = options.heads, d = options.d, repeats = options.repeats;
  const std::vector<int64_t>& lengths = options.lengths;
  const std::string& csv = options.csv;
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::fprintf(stderr, "aaren-scan-kernel-bench: no usable CUDA device\n");
    return 1;
  }
  cudaDeviceProp prop{};
  CUDA_OK(cudaGetDeviceProperties(&prop, 0));
  std::printf("device: %s; batch %lld x heads %lld, d_head %lld, float32, median of %lld repeats\n", prop.name,
              (long long)batch, (long long)heads, (long long)d, (long long)repeats);
  std::printf("%8s %10s %10s %10s %10s %10s %10s %10s %10s\n", "tokens", "copy_ms", "copy_GB/s", "fwd_ms", "fwd_GB/s",
              "fwd/copy", "bwd_ms", "bwd_GB/s", "bwd/copy");
  std::ostringstream out;  // the CSV, written whole at the end (base/atomic_file.h)
  if (!csv.empty()) {
    out << "device,batch,heads,d_head,tokens,copy_ms,copy_gbps,fwd_ms,fwd_gbps,fwd_over_copy,bwd_ms,bwd_gbps,"
           "bwd_over_copy\n";
  }
  std::mt19937 rng(0);
  cudaEvent_t start, stop;
  CUDA_OK(cudaEventCreate(&start));
  CUDA_OK(cudaEventCreate(&stop));
  for (const int64_t N : lengths) {
    const int64_t BH = batch * heads, values = BH * N * d;
    float *s = device_alloc<float>(BH * N), *v = device_alloc<float>(values), *o = device_alloc<float>(values);
    float *g = device_alloc<float>(values), *dv = device_alloc<float>(values), *copy = device_alloc<float>(values);
    float *M = device_alloc<float>(BH * N), *U = device_alloc<float>(BH * N), *ds = device_alloc<float>(BH * N);
    float *m0 = device_alloc<float>(BH), *u0 = device_alloc<float>(BH), *du0 = device_alloc<float>(BH);
    float *w0 = device_alloc<float>(BH * d), *wN = device_alloc<float>(BH * d), *dw0 = device_alloc<float>(BH * d);
    float* fw = device_alloc<float>(aaren::cuda::scan_forward_workspace(BH, N, d));
    float* bw = device_alloc<float>(aaren::cuda::scan_backward_workspace(BH, N, d));
    bool* valid = device_alloc<bool>(batch * N);
    fill_random(s, BH * N, rng);
    fill_random(v, values, rng);
    fill_random(g, values, rng);
    CUDA_OK(cudaMemset(valid, 1, batch * N));
    const std::vector<float> empty_m(BH, -std::numeric_limits<float>::infinity());
    CUDA_OK(cudaMemcpy(m0, empty_m.data(), BH * sizeof(float), cudaMemcpyHostToDevice));
    CUDA_OK(cudaMemset(u0, 0, BH * sizeof(float)));
    CUDA_OK(cudaMemset(w0, 0, BH * d * sizeof(float)));

    aaren::cuda::ScanForwardArgs<float> fa;
    fa.BH = BH, fa.H = heads, fa.N = N, fa.d = d, fa.s = s, fa.v = v, fa.valid = valid, fa.m0 = m0, fa.u0 = u0;
    fa.w0 = w0, fa.o = o, fa.M = M, fa.U = U, fa.wN = wN, fa.workspace = fw;
    aaren::cuda::ScanBackwardArgs<float> ba;
    ba.BH = BH, ba.H = heads, ba.N = N, ba.d = d, ba.s = s, ba.v = v, ba.valid = valid, ba.m0 = m0, ba.u0 = u0;
    ba.o = o, ba.M = M, ba.U = U, ba.g = g, ba.ds = ds, ba.dv = dv, ba.du0 = du0, ba.dw0 = dw0, ba.workspace = bw;

    auto timed = [&](auto&& launch) { return timed_ms(start, stop, launch); };
    std::vector<double> t_copy, t_fwd, t_bwd;
    for (int64_t r = 0; r < repeats + 2; ++r) {  // two warm-up rounds
      const double c =
          timed([&] { CUDA_OK(cudaMemcpyAsync(copy, v, values * sizeof(float), cudaMemcpyDeviceToDevice)); });
      const double f = timed([&] { CUDA_OK(aaren::cuda::scan_forward(fa, nullptr)); });
      const double b = timed([&] { CUDA_OK(aaren::cuda::scan_backward(ba, nullptr)); });
      if (r >= 2) t_copy.push_back(c), t_fwd.push_back(f), t_bwd.push_back(b);
    }
    report_length(prop, options, N, median(t_copy), median(t_fwd), median(t_bwd), out);
    for (void* p :
         {(void*)s, (void*)v, (void*)o, (void*)g, (void*)dv, (void*)copy, (void*)M, (void*)U, (void*)ds, (void*)m0,
          (void*)u0, (void*)du0, (void*)w0, (void*)wN, (void*)dw0, (void*)fw, (void*)bw, (void*)valid})
      cudaFree(p);
  }
  if (!csv.empty()) {
    aaren::base::write_file_atomically(csv, out.str());
    std::printf("wrote %s\n", csv.c_str());
  }
  return 0;
}
