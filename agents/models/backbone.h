// Sequence backbones for decision policies: a stack of pre-LN residual blocks
// whose token mixer is the registered backbone's (agents/models/backbones.h):
// Aaren (attention with a learned query, computed by the prefix scan), causal
// softmax self-attention (the Transformer baseline) or an LSTM. Everything but
// the mixer is shared, so the backbones differ only in how tokens are mixed.
//
// Each backbone runs two ways with the same weights:
//   forward(x [B,N,D]) -> [B,N,D]    parallel over the sequence (training);
//   step(x [B,D], state) -> [B,D]    one token per sequence (acting).
// forward() also accepts a state, so a long sequence can be fed in chunks.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "agents/models/backbones.h"
#include "agents/models/dropout.h"
#include "agents/models/kinds.h"
#include "agents/models/sequence_mixer.h"

namespace aaren {

// One config for every backbone; defaults are Decision Transformer's
// (Chen et al. 2021): 128-d, 3 layers, 1 head, dropout 0.1, 4x feed-forward.
struct BackboneConfig {
  BackboneKind kind = BackboneKind::kAaren;
  int64_t d_model = 128;  // D
  int64_t n_layers = 3;
  int64_t n_heads = 1;        // H; d_head = D / H
  int64_t ff_mult = 4;        // feed-forward width = ff_mult * D
  double dropout = 0.1;       // residual and feed-forward dropout
  std::string scan = "fast";  // Aaren only: "fast" (CPU kernel) | "reference" (LibTorch ops)
  int64_t kv_capacity = 64;   // Transformer only: initial KV-cache length (doubles when full)
  // Aaren only: a learned recency bias per head, initialised to this rate b
  // (0: none). Token i's score becomes s_i + b p_i for its position p_i (the
  // env step), so at position p an older token weighs exp(-b (p - p_i)) times
  // what its content alone gives: a soft window of about 1/b steps. It only
  // changes the scores, so the scan, chunking and the recurrent step stay exact.
  double recency = 0.0;

  void validate() const;  // throws std::invalid_argument naming the bad field
  std::string to_string() const;
};

// The token mixer of config.kind, from its descriptor.
std::shared_ptr<SequenceMixer> make_mixer(const BackboneConfig& config);

struct BackboneState {
  std::vector<LayerState> layers;
  int64_t tokens = 0;  // tokens consumed so far (per sequence)

  int64_t bytes() const;
  // Sequence b starts afresh in every layer (MixerState::reset_sequence).
  void reset_sequence(int64_t b);
  // Cuts the autograd history (truncated backpropagation between chunks).
  void detach_();
};

// Position-wise feed-forward: Linear(D, ff_mult D) -> GELU -> Linear -> dropout.
class FeedForwardImpl : public torch::nn::Module {
 public:
  explicit FeedForwardImpl(const BackboneConfig& config);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Linear fc_in{nullptr}, fc_out{nullptr};
  Dropout drop{nullptr};
};
TORCH_MODULE(FeedForward);

// Pre-LN residual block: x + drop(mixer(LN(x))), then x + ff(LN(x)).
class BlockImpl : public torch::nn::Module {
 public:
  BlockImpl(const BackboneConfig& config, std::shared_ptr<SequenceMixer> mixer);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask, MixerState* state,
                        const torch::Tensor& positions);
  const SequenceMixer& mixer() const { return *mixer_; }
  SequenceMixer& mixer() { return *mixer_; }

 private:
  torch::nn::LayerNorm ln_mix{nullptr}, ln_ff{nullptr};
  std::shared_ptr<SequenceMixer> mixer_;
  Dropout drop{nullptr};
  FeedForward ff{nullptr};
};
TORCH_MODULE(Block);

// The stack: n_layers blocks and a final LayerNorm. No positional embedding:
// the decision policy adds its own timestep embedding.
class BackboneImpl : public torch::nn::Module {
 public:
  explicit BackboneImpl(BackboneConfig config);

  // x [B, N, D], mask [B, N] bool (true = real token) or undefined.
  // Outputs at padded positions are unspecified; real positions are exactly
  // as if the padding were not there. With state, continues from it and
  // updates it (for the Transformer, inference only: no gradient through the cache).
  // positions [B, N]: each token's position in its sequence (needed with a recency bias).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask = {}, BackboneState* state = nullptr,
                        const torch::Tensor& positions = {});

  // One token per sequence: x [B, D] -> [B, D]; state updated in place; positions [B].
  torch::Tensor step(const torch::Tensor& x, BackboneState& state, const torch::Tensor& positions = {});

  BackboneState initial_state(int64_t batch) const;
  const BackboneConfig& config() const { return config_; }
  // Snapshot of the current weights in the layout acting wants (Aaren: one
  // fused score-and-value projection). Used in eval mode without gradients;
  // train(true) drops it; call again after changing weights in eval mode.
  void prepare_inference();

 private:
  BackboneConfig config_;
  std::vector<Block> blocks_;  // registered as "block0", "block1", ...
  torch::nn::LayerNorm ln_final{nullptr};
};
TORCH_MODULE(Backbone);

}  // namespace aaren
