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

// Whether the fused path serves these inputs: a build with CBLAS, CPU tensors
// of float or double (bf16 autocast keeps LibTorch's path, which runs on AMX).
bool fused_attention_applies(const torch::Tensor& q);

// q, k, v: [B, H, N, d]; key_mask: [B, N] bool or undefined (all keys real).
// Query n sees keys t <= n that are real; a query with no such key outputs 0.
// Returns [B, H, N, d], differentiable in q, k and v.
torch::Tensor fused_causal_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                     const torch::Tensor& key_mask);

}  // namespace aaren
