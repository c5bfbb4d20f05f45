// Causal softmax attention on the CPU, fused (Vaswani et al. 2017, with a
// causal mask): one call per layer instead of LibTorch 1.13's CPU bmm, which
// without MKL loops over the batch with a select and a GEMM call per
// sequence (about 25 us of overhead each: 12% of a DT update at batch 64).
// Here each (sequence, head) runs its two GEMMs through CBLAS directly, the
// mask and softmax in place between them, and the backward's three GEMMs
// and softmax Jacobian likewise; the (sequence, head) pairs are split over
// LibTorch's threads. It computes exactly what causal_softmax_attention
// (agents/models/causal_attention.h) computes with offset 0, up to rounding.
#pragma once

#include <torch/torch.h>

namespace aaren {

// Whether this build has the fused path (CBLAS found at build time; without
// it the Transformer's CPU attention is LibTorch's batched matmul, which
// rounds otherwise). Recorded in each run's provenance.machine.
bool fused_attention_built();

// Whether the fused path serves inputs like `t` over `tokens` positions: a
// build with CBLAS, CPU tensors of float or double (bf16 autocast keeps
// LibTorch's path, which runs on AMX), and an N x N score block per head
// that stays small (N <= 4096).
bool fused_attention_applies(const torch::Tensor& t, int64_t tokens);

// q, k, v: [B, H, N, d]; key_mask: [B, N] bool or undefined (all keys real).
// Query n sees keys t <= n that are real; a query with no such key outputs 0.
// Returns [B, H, N, d], differentiable in q, k and v.
torch::Tensor fused_causal_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                     const torch::Tensor& key_mask);

// Causal self-attention straight from a qkv projection, as a Transformer
// layer computes it: qkv [B, N, 3D] holds q | k | v, each D = H d wide with
// the H heads side by side; mask [B, N] bool or undefined marks real tokens.
// Returns [B, N, D] (heads side by side again), differentiable in qkv. Equal
// to splitting qkv into [B, H, N, d] heads, fused_causal_attention, zeroing
// the rows of padded queries and merging the heads back; but the kernel
// reads and writes those layouts in place (GEMM row strides), so the
// forward and backward make none of the copies that split and merge cost.
torch::Tensor fused_causal_self_attention(const torch::Tensor& qkv, const torch::Tensor& mask, int64_t heads);

// sum_j p[j] g[j] over j < n, the softmax Jacobian's row sum in the fused
// backward, in an order fixed in the source (attention_cpu.cpp says which and
// why): the same bits from every build. Exposed for its test.
float softmax_backward_dot(const float* p, const float* g, int n);
double softmax_backward_dot(const double* p, const double* g, int n);

}  // namespace aaren
