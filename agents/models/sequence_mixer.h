// What a backbone's token mixer is: causal attention of some kind over
// [B, N, D] tokens, run in parallel (training) or continuing from a state
// (acting, chunked training). Aaren's state is the scan's (m, u, w), of a
// size fixed by the model; the Transformer's is a KV cache that grows.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <variant>

#include "agents/scan/scan.h"

namespace aaren {

// Transformer KV cache for one layer. Grows with the tokens seen.
struct KVCache {
  torch::Tensor keys;      // [B, H, capacity, d_head]
  torch::Tensor values;    // [B, H, capacity, d_head]
  torch::Tensor key_mask;  // [B, capacity] bool: true = real token
  int64_t length = 0;      // tokens stored

  int64_t bytes() const;  // bytes allocated (capacity, not only length)
};

// Per-layer state: Aaren keeps (m, u, w) per head, whose size does not depend
// on the number of tokens; the Transformer keeps its keys and values.
using LayerState = std::variant<ScanState, KVCache>;

// A token mixer: maps [B,N,D] -> [B,N,D] causally. With a state, the tokens
// continue the sequence that the state summarises, and the state is updated.
// positions [B, N] (float, absolute within the sequence) feed position-aware
// mixers (Aaren's recency bias); others ignore them.
class SequenceMixer : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask, LayerState* state,
                                const torch::Tensor& positions) = 0;
  virtual LayerState initial_state(int64_t batch, const torch::TensorOptions& options) const = 0;
  // Precompute what acting needs from the current weights (see the mixer);
  // valid until the weights change. Default: nothing to do.
  virtual void prepare_inference() {}
};

}  // namespace aaren
