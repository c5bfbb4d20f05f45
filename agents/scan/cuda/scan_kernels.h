// The Aaren prefix scan on a CUDA GPU: raw-pointer kernels with no LibTorch
// in sight, so nvcc builds them (and a test and a benchmark drive them) on
// any machine with the CUDA toolkit; agents/scan/cuda/scan_cuda.cpp wraps them as
// a LibTorch autograd function when LibTorch has CUDA.
//
// Layout and semantics are agents/scan/scan.h's: scores s [BH][N], values
// v [BH][N][d] (BH = batch x heads, row-major, contiguous), mask valid
// [B][N] (row bh / H), initial state m0, u0 [BH] and w0 [BH][d]. Padded
// tokens are the identity and output 0; m is a constant for gradients.
//
// How the work is cut (forward; the backward mirrors it in reverse):
//  1. scalars: one warp per sequence scans the (m, u) pairs of 32 tokens at a
//     time with shuffles, carrying (m, u) between groups, and stores per
//     token M, U (kept for the backward), the decay c_t = e^{M_{t-1}-M_t},
//     the weight e_t = e^{s_t-M_t} and 1/U_t. Reads N scores per sequence.
//  2. values: one block per (sequence, 32 value columns) walks the sequence
//     chunk by chunk (by default 16 warps x 8 tokens; scan_variants.h), carrying
//     w between chunks. In a chunk each warp (lane = column) reduces its 8
//     tokens to the affine map w -> C w + W, the block combines the 16 maps through shared memory,
//     and each warp replays its tokens from its carried-in w. With c and e
//     known, w_t = c_t w_{t-1} + e_t v_t is a linear recurrence: no
//     exponentials per value, one read of v and one write of o.
// Backward: the reverse linear recurrences G_k = f_k G_{k+1} + g_k (vector,
// per column, the same block-level chunked scan) and P_k = f_k P_{k+1} +
// o_k·g_k (scalar, a warp suffix scan), f_k = e^{L_k - L_{k+1}} <= 1, as in
// agents/scan/scan_cpu.cpp; dv = a G, ds = a (v·G - P), a_k = e^{s_k - L_k}. The
// column sums o·g and v·G are written per 32-column slice and summed in a
// fixed order (deterministic, no atomics).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "agents/scan/cuda/scan_variants.h"

namespace aaren::cuda {

template <typename T>
struct ScanForwardArgs {
  int64_t BH = 0, H = 1, N = 0, d = 0;
  const T* s = nullptr;         // [BH][N]
  const T* v = nullptr;         // [BH][N][d]
  const bool* valid = nullptr;  // [BH / H][N]
  const T* m0 = nullptr;        // [BH]
  const T* u0 = nullptr;        // [BH]
  const T* w0 = nullptr;        // [BH][d]
  T* o = nullptr;               // [BH][N][d] out
  T* M = nullptr;               // [BH][N] out: running max after each token
  T* U = nullptr;               // [BH][N] out: running sum e^{s_i - M}
  T* wN = nullptr;              // [BH][d] out: final w (final m, u = M, U at N - 1)
  T* workspace = nullptr;       // scan_forward_workspace(BH, N, d) elements of T
};

template <typename T>
struct ScanBackwardArgs {
  int64_t BH = 0, H = 1, N = 0, d = 0;
  const T* s = nullptr;  // as in the forward
  const T* v = nullptr;
  const bool* valid = nullptr;
  const T* m0 = nullptr;
  const T* u0 = nullptr;
  const T* o = nullptr;  // the forward's outputs o, M, U
  const T* M = nullptr;
  const T* U = nullptr;
  const T* g = nullptr;    // [BH][N][d] gradient at o; null: zero
  const T* gu = nullptr;   // [BH] gradient at the final u; null: zero
  const T* gw = nullptr;   // [BH][d] gradient at the final w; null: zero
  T* ds = nullptr;         // [BH][N] out
  T* dv = nullptr;         // [BH][N][d] out
  T* du0 = nullptr;        // [BH] out
  T* dw0 = nullptr;        // [BH][d] out
  T* workspace = nullptr;  // scan_backward_workspace(BH, N, d) elements of T
};

// Scratch each call needs, in elements of T (the caller allocates it).
int64_t scan_forward_workspace(int64_t BH, int64_t N, int64_t d);
int64_t scan_backward_workspace(int64_t BH, int64_t N, int64_t d);

// Enqueue the kernels on `stream`, the value kernels cut as `variant` says
// (scan_variants.h; the default is the cut described above); returns the
// launch error, if any. Instantiated for float and double.
template <typename T>
cudaError_t scan_forward(const ScanForwardArgs<T>& args, cudaStream_t stream, const ScanVariant& variant = {});
template <typename T>
cudaError_t scan_backward(const ScanBackwardArgs<T>& args, cudaStream_t stream, const ScanVariant& variant = {});

}  // namespace aaren::cuda
