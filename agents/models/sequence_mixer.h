// What a backbone's token mixer is: causal attention (or recurrence) of some
// kind over [B, N, D] tokens, run in parallel (training) or continuing from a
// state (acting, chunked training). Each mixer defines its own state: Aaren's
// is the scan's (m, u, w) and the LSTM's its (h, c), of a size fixed by the
// model; the Transformer's is a KV cache that grows.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>

namespace aaren {

// One layer's state for a batch of sequences, owned by the backbone's state.
class MixerState {
 public:
  virtual ~MixerState() = default;
  virtual int64_t bytes() const = 0;  // bytes allocated (for a cache: its capacity, not only its length)
  // Sequence b starts afresh (a new episode in its row): later tokens of row b
  // see nothing of what came before. Other rows are untouched.
  virtual void reset_sequence(int64_t b) = 0;
  // Cuts the autograd history (truncated backpropagation between chunks).
  virtual void detach_() = 0;
};
using LayerState = std::unique_ptr<MixerState>;

// A token mixer: maps [B,N,D] -> [B,N,D] causally. With a state, the tokens
// continue the sequence that the state summarises, and the state is updated.
// mask [B, N] bool (true = real token) or undefined: outputs at real tokens are
// exactly as if the padding were not there. positions [B, N] (float, absolute
// within the sequence) feed position-aware mixers (Aaren's recency bias);
// others ignore them.
class SequenceMixer : public torch::nn::Module {
 public:
  // `state`: this mixer's own (from its initial_state), or null.
  virtual torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask, MixerState* state,
                                const torch::Tensor& positions) = 0;
  virtual LayerState initial_state(int64_t batch, const torch::TensorOptions& options) const = 0;
  // Precompute what acting needs from the current weights (see the mixer);
  // valid until the weights change. Default: nothing to do.
  virtual void prepare_inference() {}
};

// The state a mixer gave out, as its own type (a mismatch is a programming error).
template <typename State>
State& state_as(MixerState& state, const char* mixer) {
  auto* own = dynamic_cast<State*>(&state);
  TORCH_CHECK(own != nullptr, mixer, ": the state passed is another mixer's");
  return *own;
}

}  // namespace aaren
