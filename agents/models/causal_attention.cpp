#include "agents/models/causal_attention.h"

#include "agents/models/attention_cpu.h"

#include <cmath>

namespace aaren {

namespace {
// Masked logits get a large finite negative rather than -inf: exp() of it is
// exactly 0 next to any real score, and a row with no allowed key gives a
// harmless uniform softmax (zeroed afterwards) instead of NaN.
constexpr double kMaskedLogit = -1e9;

// Ensure room for `extra` more tokens, doubling the capacity as needed.
void reserve(KVCache& cache, int64_t extra) {
  const auto need = cache.length + extra;
  auto capacity = cache.keys.size(2);
  if (need <= capacity) return;
  while (capacity < need) capacity *= 2;
  auto grow = [&](const torch::Tensor& t, int64_t dim) {
    auto sizes = t.sizes().vec();
    sizes[dim] = capacity;
    auto bigger = torch::zeros(sizes, t.options());
    bigger.narrow(dim, 0, cache.length).copy_(t.narrow(dim, 0, cache.length));
    return bigger;
  };
  cache.keys = grow(cache.keys, 2);
  cache.values = grow(cache.values, 2);
  cache.key_mask = grow(cache.key_mask, 1);
}
}  // namespace

torch::Tensor causal_softmax_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                       const torch::Tensor& key_mask, int64_t offset) {
  const auto B = q.size(0), Nq = q.size(2), Nk = k.size(2);
  TORCH_CHECK(Nk == offset + Nq, "causal attention: ", Nk, " keys for ", Nq, " queries at offset ", offset);
  // Training and windowed acting: one fused call (attention_cpu.h). The KV
  // cache (offset > 0) and bf16 autocast take LibTorch's path below.
  if (offset == 0 && fused_attention_applies(q, Nq)) return fused_causal_attention(q, k, v, key_mask);
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(3)));
  auto logits = torch::matmul(q, k.transpose(-2, -1)) * scale;  // [B, H, Nq, Nk]
  auto allowed = torch::ones({Nq, Nk}, q.options().dtype(torch::kBool)).tril(offset).view({1, 1, Nq, Nk});
  if (key_mask.defined()) allowed = allowed & key_mask.view({B, 1, 1, Nk});
  logits = logits.masked_fill(~allowed, kMaskedLogit);
  auto o = torch::matmul(torch::softmax(logits, -1), v);
  if (key_mask.defined()) o = o * allowed.any(-1, true).to(o.scalar_type());  // rows with no key -> 0
  return o;
}

CausalSelfAttention::CausalSelfAttention(const BackboneConfig& config)
    : d_model_(config.d_model),
      n_heads_(config.n_heads),
      d_head_(config.d_model / config.n_heads),
      kv_capacity_(config.kv_capacity) {
  qkv = register_module("qkv", torch::nn::Linear(d_model_, 3 * d_model_));
  out = register_module("out", torch::nn::Linear(d_model_, d_model_));
}

torch::Tensor CausalSelfAttention::forward(const torch::Tensor& x, const torch::Tensor& mask, MixerState* state,
                                           const torch::Tensor& /*positions*/) {
  const auto B = x.size(0), N = x.size(1);
  // Linear on [B*N, D]: one addmm with the bias fused; on [B, N, D] LibTorch
  // 1.13 runs matmul + add, and a separate bias reduction in the backward.
  const auto packed = qkv(x.reshape({B * N, d_model_})).view({B, N, 3 * d_model_});  // q | k | v
  // Training and windowed acting: the heads are read from and written to
  // these layouts in place, padded queries output 0 (attention_cpu.h). Under
  // bf16 autocast the projections stay bf16 (AMX) and the attention between
  // them runs in fp32, as autocast runs softmax: the [B, N, 3D] cast costs
  // less than LibTorch's bf16 path of per-sequence products and masks.
  const auto attend =
      packed.device().is_cpu() && packed.scalar_type() == torch::kBFloat16 ? packed.to(torch::kFloat) : packed;
  if (!state && fused_attention_applies(attend, N))
    return out(fused_causal_self_attention(attend, mask, n_heads_).view({B * N, d_model_})).view({B, N, d_model_});
  const auto parts = packed.view({B, N, 3, n_heads_, d_head_}).permute({2, 0, 3, 1, 4});  // [3, B, H, N, d]
  const auto q = parts[0], k = parts[1], v = parts[2];

  // Keys/values visible to these queries: the cache (if any) followed by the
  // new tokens. Query n (0-based in this chunk) may see key t iff t <= T + n.
  torch::Tensor keys = k, values = v, key_mask = mask;
  int64_t T = 0;
  if (state) {
    auto& cache = state_as<KVCache>(*state, "causal attention");
    T = cache.length;
    reserve(cache, N);
    cache.keys.narrow(2, T, N).copy_(k);
    cache.values.narrow(2, T, N).copy_(v);
    if (mask.defined())
      cache.key_mask.narrow(1, T, N).copy_(mask);
    else
      cache.key_mask.narrow(1, T, N).fill_(true);
    cache.length = T + N;
    keys = cache.keys.narrow(2, 0, T + N);
    values = cache.values.narrow(2, 0, T + N);
    key_mask = cache.key_mask.narrow(1, 0, T + N);
  }

  auto o = causal_softmax_attention(q, keys, values, key_mask, T);  // [B, H, N, d]
  // Padded queries output 0 (as in the Aaren scan). Real queries always see
  // themselves, so every row that survives has an allowed key.
  if (mask.defined()) o = o * mask.view({B, 1, N, 1}).to(o.scalar_type());
  return out(o.permute({0, 2, 1, 3}).reshape({B * N, d_model_})).view({B, N, d_model_});
}

LayerState CausalSelfAttention::initial_state(int64_t batch, const torch::TensorOptions& options) const {
  auto cache = std::make_unique<KVCache>();
  cache->keys = torch::zeros({batch, n_heads_, kv_capacity_, d_head_}, options);
  cache->values = torch::zeros({batch, n_heads_, kv_capacity_, d_head_}, options);
  cache->key_mask = torch::zeros({batch, kv_capacity_}, options.dtype(torch::kBool));
  return cache;
}

int64_t KVCache::bytes() const {
  int64_t total = 0;
  for (const auto* t : {&keys, &values, &key_mask})
    if (t->defined()) total += t->numel() * static_cast<int64_t>(t->element_size());
  return total;
}

void KVCache::reset_sequence(int64_t b) {
  torch::NoGradGuard no_grad;
  key_mask[b].fill_(false);
}

}  // namespace aaren
