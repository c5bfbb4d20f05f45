// The CUDA scan kernels (scan_kernels.h) behind the autograd function the
// CPU kernel uses too (agents/scan/scan_function.h): scan_fast() sends CUDA
// tensors here. Same contract: gradients to scores, values and the initial
// u, w; the final u, w take gradients so chunks chain; m is a constant.
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/torch.h>

#include <type_traits>

#include "agents/scan/cuda/scan_kernels.h"
#include "agents/scan/scan.h"
#include "agents/scan/scan_function.h"

namespace aaren {

namespace {

void check_launch(cudaError_t err, const char* what) {
  TORCH_CHECK(err == cudaSuccess, "aaren scan (CUDA): ", what, " failed: ", cudaGetErrorString(err));
}

// The variant table AAREN_SCAN_VARIANTS names (scan_variants.h), read once:
// a bad table fails the first launch with its one-line error.
const cuda::VariantTable& variant_table() {
  static const cuda::VariantTable table = cuda::variant_table_from_environment();
  return table;
}

template <typename T>
cuda::ScanVariant variant_for(const char* direction, int64_t BH, int64_t N, int64_t d) {
  return variant_table().choose({direction, std::is_same_v<T, float> ? "float" : "double", BH, N, d});
}

template <typename T>
const T* ptr_or_null(const torch::Tensor& t) {
  return t.defined() ? t.data_ptr<T>() : nullptr;
}

// The CUDA passes for detail::ScanFunction, on the tensors' GPU and its current stream.
struct CudaScanKernel {
  static void forward(const detail::ScanTensors& t, const torch::Tensor& wN) {
    const c10::cuda::CUDAGuard guard(t.s.device());
    const int64_t BH = t.B() * t.H(), N = t.N(), d = t.d();
    auto workspace = torch::empty({cuda::scan_forward_workspace(BH, N, d)}, t.s.options());
    const cudaStream_t stream = c10::cuda::getCurrentCUDAStream(t.s.device().index()).stream();
    AT_DISPATCH_FLOATING_TYPES(t.s.scalar_type(), "aaren_scan_cuda_forward", [&] {
      cuda::ScanForwardArgs<scalar_t> a;
      a.BH = BH, a.H = t.H(), a.N = N, a.d = d;
      a.s = t.s.data_ptr<scalar_t>(), a.v = t.v.data_ptr<scalar_t>(), a.valid = t.valid.data_ptr<bool>();
      a.m0 = t.m0.data_ptr<scalar_t>(), a.u0 = t.u0.data_ptr<scalar_t>(), a.w0 = t.w0.data_ptr<scalar_t>();
      a.o = t.o.data_ptr<scalar_t>(), a.M = t.M.data_ptr<scalar_t>(), a.U = t.U.data_ptr<scalar_t>();
      a.wN = wN.data_ptr<scalar_t>(), a.workspace = workspace.data_ptr<scalar_t>();
      const auto variant = variant_for<scalar_t>("forward", BH, N, d);
      check_launch(cuda::scan_forward(a, stream, variant), "forward launch");
    });
  }

  static void backward(const detail::ScanTensors& t, const detail::ScanGrads& g) {
    const c10::cuda::CUDAGuard guard(t.s.device());
    const int64_t BH = t.B() * t.H(), N = t.N(), d = t.d();
    auto workspace = torch::empty({cuda::scan_backward_workspace(BH, N, d)}, t.s.options());
    const cudaStream_t stream = c10::cuda::getCurrentCUDAStream(t.s.device().index()).stream();
    AT_DISPATCH_FLOATING_TYPES(t.s.scalar_type(), "aaren_scan_cuda_backward", [&] {
      cuda::ScanBackwardArgs<scalar_t> a;
      a.BH = BH, a.H = t.H(), a.N = N, a.d = d;
      a.s = t.s.data_ptr<scalar_t>(), a.v = t.v.data_ptr<scalar_t>(), a.valid = t.valid.data_ptr<bool>();
      a.m0 = t.m0.data_ptr<scalar_t>(), a.u0 = t.u0.data_ptr<scalar_t>();
      a.o = t.o.data_ptr<scalar_t>(), a.M = t.M.data_ptr<scalar_t>(), a.U = t.U.data_ptr<scalar_t>();
      a.g = ptr_or_null<scalar_t>(g.go), a.gu = ptr_or_null<scalar_t>(g.gu), a.gw = ptr_or_null<scalar_t>(g.gw);
      a.ds = g.ds.data_ptr<scalar_t>(), a.dv = g.dv.data_ptr<scalar_t>();
      a.du0 = g.du0.data_ptr<scalar_t>(), a.dw0 = g.dw0.data_ptr<scalar_t>();
      a.workspace = workspace.data_ptr<scalar_t>();
      const auto variant = variant_for<scalar_t>("backward", BH, N, d);
      check_launch(cuda::scan_backward(a, stream, variant), "backward launch");
    });
  }
};

}  // namespace

ScanResult scan_cuda(const at::Tensor& scores, const at::Tensor& values, const c10::optional<ScanState>& initial,
                     const at::Tensor& mask) {
  check_scan_inputs(scores, values, initial, mask);
  const auto device = scores.device();
  TORCH_CHECK(device.is_cuda(), "aaren scan_cuda: needs CUDA tensors, got ", device);
  TORCH_CHECK(values.device() == device, "aaren scan: values on ", values.device(), ", scores on ", device);
  TORCH_CHECK(!mask.defined() || mask.device() == device, "aaren scan: mask on ", mask.device(), ", scores on ",
              device);
  TORCH_CHECK(
      !initial || (initial->m.device() == device && initial->u.device() == device && initial->w.device() == device),
      "aaren scan: the initial state must be on ", device);
  return detail::run_scan<CudaScanKernel>(scores, values, initial, mask);
}

}  // namespace aaren
