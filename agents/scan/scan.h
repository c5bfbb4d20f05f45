// The Aaren prefix scan: attention of one query over every prefix of a
// sequence, computed as a many-to-many RNN (Feng et al. 2024, "Attention as an RNN").
//
// For scores s_i (= q·k_i / sqrt(d_head)) and values v_i, the output at k is
//     o_k = sum_{i<=k} exp(s_i) v_i / sum_{i<=k} exp(s_i).
// A set of tokens is summarised by (m, u, w): m = max s_i, u = sum exp(s_i-m),
// w = sum exp(s_i-m) v_i, and two summaries combine associatively:
//     m = max(mA, mB), u = uA e^(mA-m) + uB e^(mB-m), w = wA e^(mA-m) + wB e^(mB-m)
// with identity (-inf, 0, 0). o_k = w_k / u_k over the prefix 1..k.
//
// Conventions shared by every implementation in this folder:
//   scores [B, H, N], values [B, H, N, d]; state m [B, H], u [B, H], w [B, H, d].
//   mask (optional) [B, N] bool, true = real token. A padded token is the
//   identity: it changes no state, and its output is 0 (and takes no gradient).
//   Positions before the first real token (with no initial state) output 0.
//   m is treated as a constant for gradients (every output is invariant to it).
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/util/Optional.h>

namespace aaren {

// Running (m, u, w) summary of the tokens seen so far, per (batch, head).
struct ScanState {
  at::Tensor m;  // [B, H]     running max of the scores (-inf when empty)
  at::Tensor u;  // [B, H]     sum exp(s_i - m)
  at::Tensor w;  // [B, H, d]  sum exp(s_i - m) v_i

  // The empty summary (-inf, 0, 0): the identity of the combine.
  static ScanState empty(int64_t batch, int64_t heads, int64_t dim, const at::TensorOptions& options);
  // Bytes held by the state (independent of how many tokens were seen).
  int64_t bytes() const;
  // The attention output of the summarised tokens, w / u (0 where empty). [B, H, d]
  at::Tensor output() const;
};

struct ScanResult {
  at::Tensor out;   // [B, H, N, d]
  ScanState final;  // the summary after the last token (padding excluded)
};

// Reference: Hillis–Steele inclusive scan with the associative combine, built
// from LibTorch ops (autograd by LibTorch). O(N log N d) work. The oracle.
ScanResult scan_reference(const at::Tensor& scores, const at::Tensor& values,
                          const c10::optional<ScanState>& initial = c10::nullopt,
                          const at::Tensor& mask = at::Tensor());

// The fast scan. CPU tensors: one fused sequential pass per (batch, head),
// parallel over batch x heads, O(N d) work; hand-written backward (two
// reverse scans) as a torch::autograd::Function. CUDA tensors: scan_cuda()
// (in builds against a CUDA LibTorch; others say so in the error).
// Gradients flow to scores, values and to the initial state's u and w; the
// final state's u and w take gradients too, so chunks of a long sequence can
// be chained with their state carried. bf16/fp16 scores and values (mixed
// precision) are scanned in float32: the state never leaves fp32.
ScanResult scan_fast(const at::Tensor& scores, const at::Tensor& values,
                     const c10::optional<ScanState>& initial = c10::nullopt, const at::Tensor& mask = at::Tensor());

#ifdef AAREN_WITH_CUDA
// The CUDA kernels of agents/scan/cuda/scan_kernels.h behind the same contract.
ScanResult scan_cuda(const at::Tensor& scores, const at::Tensor& values,
                     const c10::optional<ScanState>& initial = c10::nullopt, const at::Tensor& mask = at::Tensor());
#endif

// Brute force: every prefix attended explicitly (softmax over s_1..s_k, then a
// weighted sum), computed in float64 whatever the input dtype. O(N^2 d).
// For tests and benchmarks only; returns out [B, H, N, d] in float64.
at::Tensor attention_bruteforce(const at::Tensor& scores, const at::Tensor& values,
                                const c10::optional<ScanState>& initial = c10::nullopt,
                                const at::Tensor& mask = at::Tensor());

// Shape and dtype checks shared by the implementations; throws c10::Error
// (std::exception) with a one-line message naming the argument.
void check_scan_inputs(const at::Tensor& scores, const at::Tensor& values, const c10::optional<ScanState>& initial,
                       const at::Tensor& mask);

}  // namespace aaren
