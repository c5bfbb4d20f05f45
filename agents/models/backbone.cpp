#include "agents/models/backbone.h"

#include <sstream>
#include <stdexcept>

namespace aaren {

void BackboneConfig::validate() const {
  auto fail = [](const std::string& what) { throw std::invalid_argument("backbone config: " + what); };
  if (d_model <= 0) fail("d_model must be > 0, got " + std::to_string(d_model));
  if (n_layers <= 0) fail("n_layers must be > 0, got " + std::to_string(n_layers));
  if (n_heads <= 0 || d_model % n_heads != 0)
    fail("n_heads must divide d_model (" + std::to_string(d_model) + "), got " + std::to_string(n_heads));
  if (ff_mult <= 0) fail("ff_mult must be > 0, got " + std::to_string(ff_mult));
  if (!(dropout >= 0.0 && dropout < 1.0)) fail("dropout must be in [0, 1), got " + std::to_string(dropout));
  if (scan != "fast" && scan != "reference") fail("scan must be 'fast' or 'reference', got '" + scan + "'");
  if (kv_capacity <= 0) fail("kv_capacity must be > 0, got " + std::to_string(kv_capacity));
  if (!(recency >= 0.0 && recency < 1e3)) fail("recency must be in [0, 1000), got " + std::to_string(recency));
  if (recency > 0 && kind != BackboneKind::kAaren)
    fail("recency is an Aaren option, not " + std::string(aaren::to_string(kind)) + "'s");
}

std::string BackboneConfig::to_string() const {
  std::ostringstream os;
  os << "kind=" << aaren::to_string(kind) << " d_model=" << d_model << " n_layers=" << n_layers
     << " n_heads=" << n_heads << " ff_mult=" << ff_mult << " dropout=" << dropout;
  if (kind == BackboneKind::kAaren) os << " scan=" << scan;
  if (recency > 0) os << " recency=" << recency;
  if (kind == BackboneKind::kTransformer) os << " kv_capacity=" << kv_capacity;
  return os.str();
}

std::shared_ptr<SequenceMixer> make_mixer(const BackboneConfig& config) {
  return descriptor(config.kind).make_mixer(config);
}

int64_t BackboneState::bytes() const {
  int64_t total = 0;
  for (const auto& layer : layers) total += layer->bytes();
  return total;
}

void BackboneState::reset_sequence(int64_t b) {
  for (auto& layer : layers) layer->reset_sequence(b);
}

void BackboneState::detach_() {
  for (auto& layer : layers) layer->detach_();
}

FeedForwardImpl::FeedForwardImpl(const BackboneConfig& config)
    : fc_in(register_module("fc_in", torch::nn::Linear(config.d_model, config.ff_mult * config.d_model))),
      fc_out(register_module("fc_out", torch::nn::Linear(config.ff_mult * config.d_model, config.d_model))),
      drop(register_module("drop", Dropout(config.dropout))) {}

torch::Tensor FeedForwardImpl::forward(const torch::Tensor& x) {
  // As [tokens, D]: a Linear on 2-D input is one addmm with the bias fused,
  // not matmul + add (it matters when acting, a few tokens at a time).
  const auto flat = x.reshape({-1, x.size(-1)});
  return drop(fc_out(torch::gelu(fc_in(flat)))).view(x.sizes());
}

BlockImpl::BlockImpl(const BackboneConfig& config, std::shared_ptr<SequenceMixer> mixer)
    : ln_mix(register_module("ln_mix", torch::nn::LayerNorm(torch::nn::LayerNormOptions({config.d_model})))),
      ln_ff(register_module("ln_ff", torch::nn::LayerNorm(torch::nn::LayerNormOptions({config.d_model})))),
      mixer_(register_module("mixer", std::move(mixer))),
      drop(register_module("drop", Dropout(config.dropout))),
      ff(register_module("ff", FeedForward(config))) {}

torch::Tensor BlockImpl::forward(const torch::Tensor& x, const torch::Tensor& mask, MixerState* state,
                                 const torch::Tensor& positions) {
  auto h = x + drop(mixer_->forward(ln_mix(x), mask, state, positions));
  return h + ff(ln_ff(h));
}

BackboneImpl::BackboneImpl(BackboneConfig config) : config_(std::move(config)) {
  config_.validate();
  for (int64_t i = 0; i < config_.n_layers; ++i) {
    blocks_.push_back(register_module("block" + std::to_string(i), Block(config_, make_mixer(config_))));
  }
  ln_final = register_module("ln_final", torch::nn::LayerNorm(torch::nn::LayerNormOptions({config_.d_model})));
}

torch::Tensor BackboneImpl::forward(const torch::Tensor& x, const torch::Tensor& mask, BackboneState* state,
                                    const torch::Tensor& positions) {
  TORCH_CHECK(x.dim() == 3 && x.size(2) == config_.d_model, "backbone: input must be [B, N, ", config_.d_model,
              "], got ", x.sizes());
  if (state)
    TORCH_CHECK(static_cast<int64_t>(state->layers.size()) == config_.n_layers, "backbone: state has ",
                state->layers.size(), " layers, the model ", config_.n_layers);
  auto h = x;
  if (positions.defined())
    TORCH_CHECK(positions.dim() == 2 && positions.size(0) == x.size(0) && positions.size(1) == x.size(1),
                "backbone: positions must be [B, N] = [", x.size(0), ", ", x.size(1), "], got ", positions.sizes());
  for (size_t i = 0; i < blocks_.size(); ++i)
    h = blocks_[i]->forward(h, mask, state ? state->layers[i].get() : nullptr, positions);
  if (state) state->tokens += x.size(1);
  return ln_final(h);
}

torch::Tensor BackboneImpl::step(const torch::Tensor& x, BackboneState& state, const torch::Tensor& positions) {
  TORCH_CHECK(x.dim() == 2, "backbone step: input must be [B, D], got ", x.sizes());
  return forward(x.unsqueeze(1), {}, &state, positions.defined() ? positions.unsqueeze(1) : positions).squeeze(1);
}

void BackboneImpl::prepare_inference() {
  for (auto& block : blocks_) block->mixer().prepare_inference();
}

BackboneState BackboneImpl::initial_state(int64_t batch) const {
  const auto options = ln_final->weight.options();
  BackboneState state;
  for (const auto& block : blocks_) state.layers.push_back(block->mixer().initial_state(batch, options));
  return state;
}

}  // namespace aaren
