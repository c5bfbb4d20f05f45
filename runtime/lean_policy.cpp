#include "runtime/lean_policy.h"

#include <algorithm>
#include <cmath>

namespace aaren::lean {

Model Model::from_file(const PolicyFile& f, const std::string& path) {
  try {
    Model m;
    m.backbone = f.text("backbone");
    if (f.text("tokens") != "interleaved" && f.text("tokens") != "fused")
      throw PolicyFileError("token layout '" + f.text("tokens") + "' is not supported by this runtime");
    m.fused = f.text("tokens") == "fused";
    // Files written before the fused token normalised its parts carry no key: the plain sum.
    m.fused_norm = m.fused && f.header.count("fused_norm") && f.integer("fused_norm") != 0;
    m.state_dim = f.integer("state_dim");
    m.act_dim = f.integer("act_dim");
    m.d_model = f.integer("d_model");
    m.n_layers = f.integer("n_layers");
    m.n_heads = f.integer("n_heads");
    m.ff_dim = f.integer("ff_dim");
    m.max_ep_len = f.integer("max_ep_len");
    m.return_scale = f.real("return_scale");
    m.target_return = f.real("target_return");
    m.env = f.text("env");
    const int64_t S = m.state_dim, A = m.act_dim, D = m.d_model, H = m.n_heads, F = m.ff_dim;
    if (S < 1 || A < 1 || D < 1 || H < 1 || D % H != 0 || F < 1 || m.n_layers < 1 || m.max_ep_len < 1 ||
        !(m.return_scale > 0))
      throw PolicyFileError("inconsistent sizes in the header");
    m.state_mean = copy_of(f, "state_mean", {S});
    m.state_inv_std = copy_of(f, "state_inv_std", {S});
    m.timestep = copy_of(f, "embed_timestep.weight", {m.max_ep_len, D});
    m.embed_return = linear_of(f, "embed_return", D, 1);
    m.embed_state = linear_of(f, "embed_state", D, S);
    m.embed_action = linear_of(f, "embed_action", D, A);
    m.embed_ln = layer_norm_of(f, "embed_ln", D);
    if (m.fused_norm) {
      m.norm_return = layer_norm_of(f, "norm_return", D);
      m.norm_state = layer_norm_of(f, "norm_state", D);
      m.norm_action = layer_norm_of(f, "norm_action", D);
    }
    for (int64_t l = 0; l < m.n_layers; ++l) {
      const std::string b = "backbone.block" + std::to_string(l) + ".";
      Layer layer;
      layer.ln_mix = layer_norm_of(f, b + "ln_mix", D);
      layer.ln_ff = layer_norm_of(f, b + "ln_ff", D);
      layer.mixer = read_mixer(m.backbone, f, b + "mixer.", D, H);
      layer.fc_in = linear_of(f, b + "ff.fc_in", F, D);
      layer.fc_out = linear_of(f, b + "ff.fc_out", D, F);
      m.layers.push_back(std::move(layer));
    }
    m.ln_final = layer_norm_of(f, "backbone.ln_final", D);
    m.predict = linear_of(f, "predict_action", A, D);
    return m;
  } catch (const PolicyFileError& e) {
    throw PolicyFileError(path + ": " + e.what());
  }
}

std::shared_ptr<const Model> Model::load(const std::string& path) {
  return std::make_shared<const Model>(from_file(read_policy_file(path), path));
}

int64_t Model::weight_bytes() const {
  int64_t bytes = static_cast<int64_t>((state_mean.size() + state_inv_std.size() + timestep.size()) * sizeof(float));
  bytes += embed_return.bytes() + embed_state.bytes() + embed_action.bytes() + predict.bytes();
  for (const auto& l : layers) bytes += l.bytes();
  return bytes;
}

int64_t Model::Layer::bytes() const { return mixer->bytes() + fc_in.bytes() + fc_out.bytes(); }

int64_t Model::bytes_read_per_step() const {
  const int64_t f = sizeof(float);
  int64_t bytes = (state_mean.size() + state_inv_std.size() + 2 * d_model) * f;  // normaliser, two timestep rows
  bytes += embed_return.bytes() + embed_state.bytes() + embed_action.bytes() + predict.bytes();
  bytes += (2 + 4 * static_cast<int64_t>(layers.size())) * d_model * f;  // LayerNorms: embed, per layer two, final
  if (fused_norm) bytes += 3 * 2 * d_model * f;                          // the fused token's per-part LayerNorms
  for (const auto& l : layers) bytes += l.bytes();
  return bytes;
}

Policy::Policy(std::shared_ptr<const Model> model, double target_return)
    : model_(std::move(model)), target_(target_return != 0.0 ? target_return : model_->target_return) {
  const auto& m = *model_;
  const int64_t D = m.d_model;
  prev_action_.assign(m.act_dim, 0.0f);
  last_action_.assign(m.act_dim, 0.0f);
  int64_t state = 0, scratch = 0;
  for (const auto& layer : m.layers) {
    state_offset_.push_back(state);
    state += layer.mixer->state_floats();
    scratch = std::max(scratch, layer.mixer->scratch_floats());
  }
  state_.assign(state, 0.0f);
  mixer_scratch_.assign(scratch, 0.0f);
  x_.assign(3 * D, 0.0f);
  y_.assign(3 * D, 0.0f);
  mix_.assign(3 * D, 0.0f);
  hidden_.assign(3 * m.ff_dim, 0.0f);
  input_.assign(m.state_dim, 0.0f);
  reset();
}

void Policy::reset() {
  t_ = 0;
  rtg_ = static_cast<float>(target_ / model_->return_scale);
  std::fill(prev_action_.begin(), prev_action_.end(), 0.0f);
  for (size_t l = 0; l < model_->layers.size(); ++l) model_->layers[l].mixer->reset(state_.data() + state_offset_[l]);
}

void Policy::act(const double* observation, double* action) {
  const auto& m = *model_;
  const int64_t D = m.d_model, F = m.ff_dim, S = m.state_dim, A = m.act_dim;
  // Timesteps clipped to the table as the LibTorch policy clips them.
  const int64_t t = std::min(t_, m.max_ep_len - 1), t_prev = std::max<int64_t>(0, t - 1);
  float* x = x_.data();
  for (int64_t i = 0; i < S; ++i)
    input_[i] = (static_cast<float>(observation[i]) - m.state_mean[i]) * m.state_inv_std[i];
  int64_t n = 0;  // tokens this step
  if (m.fused) {
    // One token: N_R(E_R(R_t)) + N_s(E_s(s_t)) + N_a(E_a(a_{t-1})) + E_t(t)
    // (a_{-1} = 0; N_* the per-part LayerNorms, or none in files from
    // before them), summed in the LibTorch policy's order.
    n = 1;
    const float* parts = y_.data();  // [3][D]: the return's, the state's, the action's
    m.embed_return.apply(&rtg_, 1, y_.data());
    m.embed_state.apply(input_.data(), 1, y_.data() + D);
    m.embed_action.apply(prev_action_.data(), 1, y_.data() + 2 * D);
    if (m.fused_norm) {
      layer_norm(y_.data(), m.norm_return, D, mix_.data());
      layer_norm(y_.data() + D, m.norm_state, D, mix_.data() + D);
      layer_norm(y_.data() + 2 * D, m.norm_action, D, mix_.data() + 2 * D);
      parts = mix_.data();
    }
    for (int64_t i = 0; i < D; ++i) x[i] = ((parts[i] + parts[D + i]) + parts[2 * D + i]) + m.timestep[t * D + i];
  } else {
    // Tokens of this step, in order: a_{t-1} (none at t = 0: the LibTorch
    // policy feeds it as padding, which changes no state), R_t, s_t.
    n = t_ == 0 ? 2 : 3;
    float* tok = x;
    if (n == 3) {
      m.embed_action.apply(prev_action_.data(), 1, tok);
      for (int64_t i = 0; i < D; ++i) tok[i] += m.timestep[t_prev * D + i];
      tok += D;
    }
    m.embed_return.apply(&rtg_, 1, tok);
    for (int64_t i = 0; i < D; ++i) tok[i] += m.timestep[t * D + i];
    tok += D;
    m.embed_state.apply(input_.data(), 1, tok);
    for (int64_t i = 0; i < D; ++i) tok[i] += m.timestep[t * D + i];
  }
  for (int64_t j = 0; j < n; ++j) layer_norm(x + j * D, m.embed_ln, D, y_.data() + j * D);
  std::copy(y_.begin(), y_.begin() + n * D, x_.begin());

  for (int64_t l = 0; l < m.n_layers; ++l) {
    const auto& layer = m.layers[l];
    const bool last = l + 1 == m.n_layers;
    // After the last layer only s_t's output is read: the earlier tokens of
    // this step only feed the scan state there.
    const int64_t first = last ? n - 1 : 0, count = n - first;
    for (int64_t j = 0; j < n; ++j) layer_norm(x + j * D, layer.ln_mix, D, y_.data() + j * D);
    // The mixer adds its outputs for tokens first..n-1 to x (the residual).
    layer.mixer->mix(y_.data(), n, first, state_.data() + state_offset_[l], x, mixer_scratch_.data());
    float* xf = x + first * D;
    for (int64_t j = 0; j < count; ++j) layer_norm(xf + j * D, layer.ln_ff, D, y_.data() + j * D);
    layer.fc_in.apply(y_.data(), count, hidden_.data());
    gelu_in_place(hidden_.data(), count * F);
    layer.fc_out.apply(hidden_.data(), count, y_.data());
    for (int64_t i = 0; i < count * D; ++i) xf[i] += y_[i];
  }
  float* s_out = x + (n - 1) * D;
  layer_norm(s_out, m.ln_final, D, y_.data());
  m.predict.apply(y_.data(), 1, last_action_.data());
  for (int64_t i = 0; i < A; ++i) {
    last_action_[i] = std::tanh(last_action_[i]);
    action[i] = last_action_[i];
  }
}

void Policy::observe(double reward) {
  rtg_ -= static_cast<float>(reward / model_->return_scale);
  prev_action_ = last_action_;  // same size: no allocation
  ++t_;
}

int64_t Policy::state_bytes() const { return static_cast<int64_t>(state_.size() * sizeof(float)); }

}  // namespace aaren::lean
