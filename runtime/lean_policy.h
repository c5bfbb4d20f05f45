// The lean runtime: a trained Aaren decision policy stepped with the C++
// standard library alone — no LibTorch, no allocation after construction.
//
// Per env step the policy feeds DT's three tokens (a_{t-1}, R_t, s_t) — or,
// in the fused layout, the one token that sums their (normalised) embeddings — to each
// layer together: the projections and the feed-forward read each weight
// matrix once for all three tokens (weights packed in column panels four SIMD registers wide,
// loops the compiler vectorises), and only the scan runs token by token on
// the (m, u, w) state. Math and parameters are the LibTorch policy's
// (agents/models/decision_policy.h): same layout, same LayerNorm, exact-erf GELU;
// only the algebra is regrouped where that reads fewer bytes (the key folded
// into the query; with one head, the value folded into the output
// projection), with products formed in double at load time.
#pragma once

#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "runtime/policy_file.h"

namespace aaren::lean {

// Cache-line (64-byte) aligned storage: a SIMD load of a panel row never
// straddles two lines.
template <class T>
struct CacheAligned {
  using value_type = T;
  static constexpr std::align_val_t kAlign{64};
  CacheAligned() = default;
  template <class U>
  CacheAligned(const CacheAligned<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlign)); }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, kAlign); }
  template <class U>
  bool operator==(const CacheAligned<U>&) const noexcept {
    return true;
  }
  template <class U>
  bool operator!=(const CacheAligned<U>&) const noexcept {
    return false;
  }
};
using AlignedFloats = std::vector<float, CacheAligned<float>>;

// A weight matrix y = W x + b stored for the kernel: W^T cut into panels of
// kPanel output columns, each panel [in][kPanel] contiguous (zero-padded).
struct PackedLinear {
  // Four SIMD registers wide: with two accumulator sets for three tokens
  // that is 24 of AVX-512's 32 registers (12 of AVX2's 16 at 16 wide).
#if defined(__AVX512F__)
  static constexpr int64_t kPanel = 64;
#else
  static constexpr int64_t kPanel = 16;
#endif
  int64_t in = 0, out = 0;
  AlignedFloats panels;  // [ceil(out / kPanel)][in][kPanel]
  AlignedFloats bias;    // [out], zero-padded to whole panels

  // From a row-major [out][in] weight (LibTorch's Linear layout) and bias.
  static PackedLinear pack(const std::vector<float>& weight, const std::vector<float>& bias, int64_t out, int64_t in);
  // y[m] = W x[m] + b for m < M (M <= 3): x [M][in], y [M][out].
  void apply(const float* x, int64_t M, float* y) const;
  int64_t bytes() const { return static_cast<int64_t>((panels.size() + bias.size()) * sizeof(float)); }
};

struct LayerNormWeights {
  std::vector<float> weight, bias;  // [D]
};

// The immutable model, shared by every policy instance (one per episode).
struct Model {
  int64_t state_dim = 0, act_dim = 0, d_model = 0, n_layers = 0, n_heads = 0, ff_dim = 0, max_ep_len = 0;
  bool fused = false;       // token layout: one token per step (a_{t-1}, R_t, s_t summed), else DT's three
  bool fused_norm = false;  // fused: each part's embedding LayerNorm-ed before the sum
  double return_scale = 1000.0, target_return = 0.0;
  std::string env;
  std::vector<float> state_mean, state_inv_std;  // (s - mean) * inv_std
  std::vector<float> timestep;                   // [max_ep_len][D]
  PackedLinear embed_return, embed_state, embed_action;
  LayerNormWeights embed_ln;
  LayerNormWeights norm_return, norm_state, norm_action;  // fused_norm only
  struct Layer {
    LayerNormWeights ln_mix, ln_ff;
    // Scores: the key folded into the query, s_h = score_weight[h]·y + score_bias[h]
    // (H dot products of length D, not a padded GEMM panel).
    AlignedFloats score_weight;     // [H][D]
    std::vector<float> score_bias;  // [H]
    // One head: the attention weights sum to 1, so W_o (sum a_i (W_v y_i + b_v)) + b_o
    // = (W_o W_v)(sum a_i y_i) + (W_o b_v + b_o): the scan runs over the
    // normalised inputs y_i and one [D -> D] matrix replaces two. Several
    // heads keep the value projection (their state would grow H-fold).
    bool values_folded = false;
    PackedLinear value;  // [D -> D], only when !values_folded
    PackedLinear out;    // W_o W_v (folded) or W_o
    PackedLinear fc_in, fc_out;
    int64_t bytes() const;
  };
  std::vector<Layer> layers;
  LayerNormWeights ln_final;
  PackedLinear predict;

  static Model from_file(const PolicyFile& file, const std::string& path);  // throws PolicyFileError
  static std::shared_ptr<const Model> load(const std::string& path);
  int64_t weight_bytes() const;         // everything held, the whole timestep table included
  int64_t bytes_read_per_step() const;  // what one env step reads: every matrix once, two timestep rows
};

class Policy {
 public:
  // target_return 0: the model's own target (any other value, negative too, is used as it is). All memory is allocated here.
  explicit Policy(std::shared_ptr<const Model> model, double target_return = 0.0);

  // A new episode: empty state, t = 0, return-to-go = target / scale.
  void reset();
  // observation [state_dim] (raw) -> action [act_dim] in (-1, 1).
  void act(const double* observation, double* action);
  // The env returned this reward for the action just taken.
  void observe(double reward);

  int64_t state_bytes() const;  // the (m, u, w) state: constant over the episode
  const Model& model() const { return *model_; }

 private:
  std::shared_ptr<const Model> model_;
  double target_;
  int64_t t_ = 0;
  float rtg_ = 0;
  std::vector<float> prev_action_, last_action_;
  // Per layer and head: m, u [L][H]; w [L][H][d_head].
  std::vector<float> m_, u_, w_;
  // Scratch for up to three tokens.
  std::vector<float> x_, y_, values_, scores_, mix_, hidden_;
  std::vector<float> input_;  // the normalised observation [state_dim]
};

// Exact-erf GELU, vectorisable: x/2 (1 + erf(x / sqrt 2)) with erf from a
// rational approximation accurate to float precision.
float gelu(float x);

}  // namespace aaren::lean
