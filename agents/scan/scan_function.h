// The fast scan's autograd function, written once for every device: the
// tensors in and out, what is kept for the backward and the gradient
// contract of scan.h live here; a Kernel supplies the two passes over
// contiguous buffers (scan_cpu.cpp: the fused CPU loops; cuda/scan_cuda.cpp:
// the CUDA kernels). Internal to agents/: it includes <torch/torch.h>.
//
//   struct Kernel {
//     static void forward(const ScanTensors& t, const torch::Tensor& wN);   // fills t.o, t.M, t.U, wN
//     static void backward(const ScanTensors& t, const ScanGrads& g);       // fills g.ds, g.dv, g.du0, g.dw0
//   };
#pragma once

#include <torch/torch.h>

#include "agents/scan/scan.h"

namespace aaren::detail {

// One scan call's contiguous tensors, all on one device.
struct ScanTensors {
  torch::Tensor s, v, m0, u0, w0, valid;  // [B,H,N], [B,H,N,d], [B,H], [B,H], [B,H,d], [B,N] bool
  torch::Tensor o, M, U;                  // the forward's outputs [B,H,N,d] and per-token state [B,H,N]
  int64_t B() const { return s.size(0); }
  int64_t H() const { return s.size(1); }
  int64_t N() const { return s.size(2); }
  int64_t d() const { return v.size(3); }
};

// Gradients arriving at o, u_N, w_N (undefined: zero) and those leaving.
struct ScanGrads {
  torch::Tensor go, gu, gw;        // [B,H,N,d], [B,H], [B,H,d], contiguous when defined
  torch::Tensor ds, dv, du0, dw0;  // like s, v, u0, w0
};

template <class Kernel>
class ScanFunction : public torch::autograd::Function<ScanFunction<Kernel>> {
 public:
  // Returns {o [B,H,N,d], m_N [B,H], u_N [B,H], w_N [B,H,d]}; m_N takes no gradient.
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& s,
                                                const torch::Tensor& v, const torch::Tensor& m0,
                                                const torch::Tensor& u0, const torch::Tensor& w0,
                                                const torch::Tensor& valid) {
    ScanTensors t{s.contiguous(),
                  v.contiguous(),
                  m0.contiguous(),
                  u0.contiguous(),
                  w0.contiguous(),
                  valid.contiguous(),
                  {},
                  {},
                  {}};
    const int64_t B = t.B(), H = t.H(), N = t.N(), d = t.d();
    t.o = torch::empty({B, H, N, d}, t.v.options());
    t.M = torch::empty({B, H, N}, t.s.options());
    t.U = torch::empty({B, H, N}, t.s.options());
    auto wN = torch::empty({B, H, d}, t.v.options());
    Kernel::forward(t, wN);
    auto mN = t.M.select(2, N - 1).clone();
    auto uN = t.U.select(2, N - 1).clone();
    ctx->save_for_backward({t.s, t.v, t.m0, t.u0, t.valid, t.o, t.M, t.U});
    ctx->mark_non_differentiable({mN});
    return {t.o, mN, uN, wN};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const ScanTensors t{saved[0], saved[1], saved[2], saved[3], torch::Tensor(),
                        saved[4], saved[5], saved[6], saved[7]};
    auto contiguous_or_none = [](const torch::Tensor& g) { return g.defined() ? g.contiguous() : torch::Tensor(); };
    ScanGrads g{contiguous_or_none(grads[0]),
                contiguous_or_none(grads[2]),
                contiguous_or_none(grads[3]),
                torch::empty_like(t.s),
                torch::empty_like(t.v),
                torch::empty_like(t.u0),
                torch::empty({t.B(), t.H(), t.d()}, t.v.options())};
    Kernel::backward(t, g);
    return {g.ds, g.dv, torch::Tensor(), g.du0, g.dw0, torch::Tensor()};
  }
};

// ScanFunction<Kernel> with scan.h's defaults filled in: the empty initial
// state, and every token real. (Input checks are the caller's.)
template <class Kernel>
ScanResult run_scan(const at::Tensor& scores, const at::Tensor& values, const c10::optional<ScanState>& initial,
                    const at::Tensor& mask) {
  const auto B = scores.size(0), H = scores.size(1), N = scores.size(2), d = values.size(3);
  const auto st = initial ? *initial : ScanState::empty(B, H, d, scores.options());
  const auto valid = mask.defined() ? mask : torch::ones({B, N}, scores.options().dtype(torch::kBool));
  auto outs = ScanFunction<Kernel>::apply(scores, values, st.m.detach(), st.u, st.w, valid);
  return {outs[0], {outs[1], outs[2], outs[3]}};
}

}  // namespace aaren::detail
