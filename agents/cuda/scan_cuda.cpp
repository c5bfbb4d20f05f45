// The CUDA scan kernels (scan_kernels.h) as a LibTorch autograd function:
// scan_fast() sends CUDA tensors here. Same contract as the CPU kernel in
// agents/scan_cpu.cpp: gradients to scores, values and the initial u, w; the
// final u, w take gradients so chunks chain; m is a constant.
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/torch.h>

#include "agents/cuda/scan_kernels.h"
#include "agents/scan.h"

namespace aaren {

namespace {

void check_launch(cudaError_t err, const char* what) {
  TORCH_CHECK(err == cudaSuccess, "aaren scan (CUDA): ", what, " failed: ", cudaGetErrorString(err));
}

template <typename T>
const T* ptr_or_null(const torch::Tensor& t) {
  return t.defined() ? t.data_ptr<T>() : nullptr;
}

class CudaScanFunction : public torch::autograd::Function<CudaScanFunction> {
 public:
  // s [B,H,N], v [B,H,N,d], m0/u0 [B,H], w0 [B,H,d], valid [B,N] bool, all on one GPU.
  // Returns {o [B,H,N,d], m_N [B,H], u_N [B,H], w_N [B,H,d]}.
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& s_in,
                                                const torch::Tensor& v_in, const torch::Tensor& m0_in,
                                                const torch::Tensor& u0_in, const torch::Tensor& w0_in,
                                                const torch::Tensor& valid_in) {
    const c10::cuda::CUDAGuard guard(s_in.device());
    const auto s = s_in.contiguous(), v = v_in.contiguous(), m0 = m0_in.contiguous(), u0 = u0_in.contiguous();
    const auto w0 = w0_in.contiguous(), valid = valid_in.contiguous();
    const int64_t B = s.size(0), H = s.size(1), N = s.size(2), d = v.size(3);
    auto o = torch::empty({B, H, N, d}, v.options());
    auto M = torch::empty({B, H, N}, s.options());
    auto U = torch::empty({B, H, N}, s.options());
    auto wN = torch::empty({B, H, d}, v.options());
    auto workspace = torch::empty({cuda::scan_forward_workspace(B * H, N, d)}, s.options());
    const cudaStream_t stream = c10::cuda::getCurrentCUDAStream(s.device().index()).stream();
    AT_DISPATCH_FLOATING_TYPES(s.scalar_type(), "aaren_scan_cuda_forward", [&] {
      cuda::ScanForwardArgs<scalar_t> a;
      a.BH = B * H, a.H = H, a.N = N, a.d = d;
      a.s = s.data_ptr<scalar_t>(), a.v = v.data_ptr<scalar_t>(), a.valid = valid.data_ptr<bool>();
      a.m0 = m0.data_ptr<scalar_t>(), a.u0 = u0.data_ptr<scalar_t>(), a.w0 = w0.data_ptr<scalar_t>();
      a.o = o.data_ptr<scalar_t>(), a.M = M.data_ptr<scalar_t>(), a.U = U.data_ptr<scalar_t>();
      a.wN = wN.data_ptr<scalar_t>(), a.workspace = workspace.data_ptr<scalar_t>();
      check_launch(cuda::scan_forward(a, stream), "forward launch");
    });
    auto mN = M.select(2, N - 1).clone();
    auto uN = U.select(2, N - 1).clone();
    ctx->save_for_backward({s, v, m0, u0, valid, o, M, U});
    ctx->mark_non_differentiable({mN});
    return {o, mN, uN, wN};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &s = saved[0], &v = saved[1], &m0 = saved[2], &u0 = saved[3], &valid = saved[4], &o = saved[5],
               &M = saved[6], &U = saved[7];
    const c10::cuda::CUDAGuard guard(s.device());
    const int64_t B = s.size(0), H = s.size(1), N = s.size(2), d = v.size(3);
    const auto go = grads[0].defined() ? grads[0].contiguous() : torch::Tensor();
    const auto gu = grads[2].defined() ? grads[2].contiguous() : torch::Tensor();
    const auto gw = grads[3].defined() ? grads[3].contiguous() : torch::Tensor();
    auto ds = torch::empty_like(s), dv = torch::empty_like(v);
    auto du0 = torch::empty_like(u0), dw0 = torch::empty({B, H, d}, v.options());
    auto workspace = torch::empty({cuda::scan_backward_workspace(B * H, N, d)}, s.options());
    const cudaStream_t stream = c10::cuda::getCurrentCUDAStream(s.device().index()).stream();
    AT_DISPATCH_FLOATING_TYPES(s.scalar_type(), "aaren_scan_cuda_backward", [&] {
      cuda::ScanBackwardArgs<scalar_t> a;
      a.BH = B * H, a.H = H, a.N = N, a.d = d;
      a.s = s.data_ptr<scalar_t>(), a.v = v.data_ptr<scalar_t>(), a.valid = valid.data_ptr<bool>();
      a.m0 = m0.data_ptr<scalar_t>(), a.u0 = u0.data_ptr<scalar_t>();
      a.o = o.data_ptr<scalar_t>(), a.M = M.data_ptr<scalar_t>(), a.U = U.data_ptr<scalar_t>();
      a.g = ptr_or_null<scalar_t>(go), a.gu = ptr_or_null<scalar_t>(gu), a.gw = ptr_or_null<scalar_t>(gw);
      a.ds = ds.data_ptr<scalar_t>(), a.dv = dv.data_ptr<scalar_t>();
      a.du0 = du0.data_ptr<scalar_t>(), a.dw0 = dw0.data_ptr<scalar_t>();
      a.workspace = workspace.data_ptr<scalar_t>();
      check_launch(cuda::scan_backward(a, stream), "backward launch");
    });
    return {ds, dv, torch::Tensor(), du0, dw0, torch::Tensor()};
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
  const auto B = scores.size(0), H = scores.size(1), N = scores.size(2), d = values.size(3);
  const auto st = initial ? *initial : ScanState::empty(B, H, d, scores.options());
  const auto valid = mask.defined() ? mask : torch::ones({B, N}, scores.options().dtype(torch::kBool));
  auto outs = CudaScanFunction::apply(scores, values, st.m.detach(), st.u, st.w, valid);
  ScanResult result;
  result.out = outs[0];
  result.final = {outs[1], outs[2], outs[3]};
  return result;
}

}  // namespace aaren
