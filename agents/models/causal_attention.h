// Causal multi-head softmax self-attention (the Transformer baseline), with a
// KV-cache path that appends each new token's key and value.
#pragma once

#include "agents/models/backbone.h"

namespace aaren {

// The Transformer's state for one layer: its keys and values, which grow with
// the tokens seen (the capacity doubles when full).
struct KVCache : MixerState {
  torch::Tensor keys;      // [B, H, capacity, d_head]
  torch::Tensor values;    // [B, H, capacity, d_head]
  torch::Tensor key_mask;  // [B, capacity] bool: true = real token
  int64_t length = 0;      // tokens stored

  int64_t bytes() const override;
  // Row b's stored tokens are hidden from later queries (their memory stays).
  void reset_sequence(int64_t b) override;
  void detach_() override {}  // the cache is for acting: no gradient flows through it
};

// Causal softmax attention of queries q [B, H, Nq, d] over keys/values
// [B, H, Nk, d] with Nk = offset + Nq: query n sees key t iff t <= offset + n
// (and key_mask[b, t], a [B, Nk] bool, when given). Rows with no key output 0.
torch::Tensor causal_softmax_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                       const torch::Tensor& key_mask = {}, int64_t offset = 0);

class CausalSelfAttention : public SequenceMixer {
 public:
  explicit CausalSelfAttention(const BackboneConfig& config);

  // x [B, N, D] -> [B, N, D]; with a KVCache state the tokens attend to the
  // cached ones as well and are appended to the cache.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask, MixerState* state,
                        const torch::Tensor& positions) override;  // positions: unused (causal masking only)
  LayerState initial_state(int64_t batch, const torch::TensorOptions& options) const override;

 private:
  int64_t d_model_, n_heads_, d_head_, kv_capacity_;
  torch::nn::Linear qkv{nullptr}, out{nullptr};
};

}  // namespace aaren
