#include "runtime/lean_policy.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace aaren::lean {

PackedLinear PackedLinear::pack(const std::vector<float>& weight, const std::vector<float>& bias, int64_t out,
                                int64_t in) {
  PackedLinear p;
  p.in = in;
  p.out = out;
  const int64_t panels = (out + kPanel - 1) / kPanel;
  p.panels.assign(panels * in * kPanel, 0.0f);
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < in; ++i) p.panels[((o / kPanel) * in + i) * kPanel + o % kPanel] = weight[o * in + i];
  p.bias.assign(panels * kPanel, 0.0f);  // padded like the panels: whole vectors per panel
  std::copy(bias.begin(), bias.end(), p.bias.begin());
  return p;
}

namespace {

// A SIMD register of floats (GCC/Clang vector extensions): 16 lanes where
// the target has AVX-512, else 8 (AVX, or two SSE halves); aligned(4):
// loads need no alignment.
#if defined(__AVX512F__)
constexpr int kLanes = 16;
#else
constexpr int kLanes = 8;
#endif
typedef float vec __attribute__((vector_size(kLanes * sizeof(float)), aligned(4)));

// One panel for M tokens: acc[m] = b + sum_i x[m][i] W^T[i][panel]. The
// 4 x M accumulators stay in registers; the panel is read once, in order.
template <int M, int Sets = 2>
void apply_panels(const PackedLinear& p, const float* x, float* y) {
  constexpr int64_t K = PackedLinear::kPanel, V = K / kLanes;
  static_assert(K % kLanes == 0, "panels are whole SIMD vectors");
  const int64_t in = p.in, out = p.out;
  for (int64_t panel = 0; panel * K < out; ++panel) {
    const float* w = p.panels.data() + panel * in * K;
    const int64_t o0 = panel * K, width = std::min(K, out - o0);
    const float* b = p.bias.data() + o0;
    // Two accumulator sets, for even and odd i: each FMA chain then waits on
    // its own result every other row only, so the FMA latency (4 cycles)
    // no longer paces the loop when M is small.
    vec acc[Sets][M][V];
    for (int m = 0; m < M; ++m)
      for (int v = 0; v < V; ++v) {
        acc[0][m][v] = *reinterpret_cast<const vec*>(b + kLanes * v);
        for (int r = 1; r < Sets; ++r) acc[r][m][v] = vec{0};
      }
    int64_t i = 0;
    for (; i + Sets <= in; i += Sets, w += Sets * K)
      for (int r = 0; r < Sets; ++r) {
        vec wv[V];
        for (int v = 0; v < V; ++v) wv[v] = *reinterpret_cast<const vec*>(w + r * K + kLanes * v);
        for (int m = 0; m < M; ++m) {
          const float xi = x[m * in + i + r];
          for (int v = 0; v < V; ++v) acc[r][m][v] += xi * wv[v];
        }
      }
    for (; i < in; ++i, w += K)
      for (int m = 0; m < M; ++m) {
        const float xi = x[m * in + i];
        for (int v = 0; v < V; ++v) acc[0][m][v] += xi * *reinterpret_cast<const vec*>(w + kLanes * v);
      }
    for (int m = 0; m < M; ++m) {
      float r[K];
      for (int v = 0; v < V; ++v) {
        vec sum = acc[0][m][v];
        for (int set = 1; set < Sets; ++set) sum += acc[set][m][v];
        *reinterpret_cast<vec*>(r + kLanes * v) = sum;
      }
      for (int64_t k = 0; k < width; ++k) y[m * out + o0 + k] = r[k];
    }
  }
}

// sum of the kLanes lanes of v (a fixed order: deterministic).
inline float lane_sum(const vec& v) {
  float sum = 0;
  for (int k = 0; k < kLanes; ++k) sum += v[k];
  return sum;
}

// LayerNorm over D (biased variance, eps 1e-5, as torch::nn::LayerNorm).
// The two reductions run in SIMD lanes: a scalar chain of D dependent adds
// would cost more than the normalisation itself.
void layer_norm(const float* x, const LayerNormWeights& ln, int64_t D, float* y) {
  const int64_t body = D - D % kLanes;
  vec acc = {0};
  for (int64_t i = 0; i < body; i += kLanes) acc += *reinterpret_cast<const vec*>(x + i);
  float mean = lane_sum(acc);
  for (int64_t i = body; i < D; ++i) mean += x[i];
  mean /= static_cast<float>(D);
  acc = vec{0};
  for (int64_t i = 0; i < body; i += kLanes) {
    const vec c = *reinterpret_cast<const vec*>(x + i) - mean;
    acc += c * c;
  }
  float var = lane_sum(acc);
  for (int64_t i = body; i < D; ++i) var += (x[i] - mean) * (x[i] - mean);
  var /= static_cast<float>(D);
  const float inv = 1.0f / std::sqrt(var + 1e-5f);
  for (int64_t i = 0; i < D; ++i) y[i] = (x[i] - mean) * inv * ln.weight[i] + ln.bias[i];
}

// sum a[i] b[i] in SIMD lanes (a fixed order: deterministic).
float dot(const float* a, const float* b, int64_t n) {
  vec acc = {0};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    acc += *reinterpret_cast<const vec*>(a + i) * *reinterpret_cast<const vec*>(b + i);
  float sum = lane_sum(acc);
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

std::vector<float> copy_of(const PolicyFile& f, const std::string& name, const std::vector<int64_t>& dims) {
  return f.tensor(name, dims).data;
}

LayerNormWeights layer_norm_of(const PolicyFile& f, const std::string& name, int64_t D) {
  return {copy_of(f, name + ".weight", {D}), copy_of(f, name + ".bias", {D})};
}

PackedLinear linear_of(const PolicyFile& f, const std::string& name, int64_t out, int64_t in) {
  return PackedLinear::pack(copy_of(f, name + ".weight", {out, in}), copy_of(f, name + ".bias", {out}), out, in);
}

}  // namespace

void PackedLinear::apply(const float* x, int64_t M, float* y) const {
  switch (M) {
    case 1:
      return apply_panels<1>(*this, x, y);
    case 2:
      return apply_panels<2>(*this, x, y);
    default:
      return apply_panels<3>(*this, x, y);
  }
}

namespace {
// x/2 (1 + erf(x / sqrt 2)), erf(z) = z P(z^2) / Q(z^2) on |z| < 3.9: a
// rational minimax fit accurate to a few float ulps (checked in the tests
// against std::erf). Beyond, erf rounds to +-1 in float: exactly x or 0
// there, as the exact GELU gives for huge |x|. Branch-free, so loops of it
// vectorise.
inline float gelu_inline(float x) {
  const float z = std::min(3.9f, std::max(-3.9f, x * 0.70710678118654752f));
  const float z2 = z * z;
  float p = -2.72614225801306e-10f;
  p = p * z2 + 2.77068142495902e-08f;
  p = p * z2 - 2.10102402082508e-06f;
  p = p * z2 - 5.69250639462346e-05f;
  p = p * z2 - 7.34990630326855e-04f;
  p = p * z2 - 2.95459980854025e-03f;
  p = p * z2 - 1.60960333262415e-02f;
  float q = -1.45660718464996e-05f;
  q = q * z2 - 2.13374055278905e-04f;
  q = q * z2 - 1.68282697438203e-03f;
  q = q * z2 - 7.37332916720468e-03f;
  q = q * z2 - 1.42647390514189e-02f;
  const float saturated = x > 0.0f ? 1.0f : -1.0f;
  const float e = std::abs(x * 0.70710678118654752f) >= 3.9f ? saturated : z * p / q;
  return 0.5f * x * (1.0f + e);
}

void gelu_in_place(float* __restrict x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = gelu_inline(x[i]);
}
}  // namespace

float gelu(float x) { return gelu_inline(x); }

Model Model::from_file(const PolicyFile& f, const std::string& path) {
  try {
    Model m;
    if (f.text("backbone") != "aaren")
      throw PolicyFileError("backbone is '" + f.text("backbone") + "'; the lean runtime runs Aaren policies");
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
    const int64_t dh = D / H;
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
      // Fold the key into the query (in double): score_h = (W_h^T q_h)·x/sqrt(d) + q_h·b_h/sqrt(d).
      const auto& q = f.tensor(b + "mixer.query", {H, dh}).data;
      const auto& wk = f.tensor(b + "mixer.key.weight", {D, D}).data;
      const auto& bk = f.tensor(b + "mixer.key.bias", {D}).data;
      const auto wv = copy_of(f, b + "mixer.value.weight", {D, D});
      const auto bv = copy_of(f, b + "mixer.value.bias", {D});
      const auto wo = copy_of(f, b + "mixer.out.weight", {D, D});
      const auto bo = copy_of(f, b + "mixer.out.bias", {D});
      const double scale = 1.0 / std::sqrt(static_cast<double>(dh));
      layer.score_weight.assign(H * D, 0.0f);
      layer.score_bias.assign(H, 0.0f);
      for (int64_t h = 0; h < H; ++h) {
        double bsum = 0;
        for (int64_t d = 0; d < dh; ++d) bsum += double(q[h * dh + d]) * scale * bk[h * dh + d];
        layer.score_bias[h] = static_cast<float>(bsum);
        for (int64_t k = 0; k < D; ++k) {
          double s = 0;
          for (int64_t d = 0; d < dh; ++d) s += double(q[h * dh + d]) * scale * wk[(h * dh + d) * D + k];
          layer.score_weight[h * D + k] = static_cast<float>(s);
        }
      }
      layer.values_folded = H == 1;
      if (layer.values_folded) {
        // W_ov = W_o W_v and b_ov = W_o b_v + b_o, summed in double.
        std::vector<float> w_ov(D * D), b_ov(D);
        std::vector<double> row(D);
        for (int64_t o = 0; o < D; ++o) {
          std::fill(row.begin(), row.end(), 0.0);
          double bias = bo[o];
          for (int64_t k = 0; k < D; ++k) {
            const double a = wo[o * D + k];
            bias += a * bv[k];
            const float* v = wv.data() + k * D;
            for (int64_t i = 0; i < D; ++i) row[i] += a * v[i];
          }
          for (int64_t i = 0; i < D; ++i) w_ov[o * D + i] = static_cast<float>(row[i]);
          b_ov[o] = static_cast<float>(bias);
        }
        layer.out = PackedLinear::pack(w_ov, b_ov, D, D);
      } else {
        layer.value = PackedLinear::pack(wv, bv, D, D);
        layer.out = PackedLinear::pack(wo, bo, D, D);
      }
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

int64_t Model::Layer::bytes() const {
  const int64_t scores = static_cast<int64_t>((score_weight.size() + score_bias.size()) * sizeof(float));
  return scores + value.bytes() + out.bytes() + fc_in.bytes() + fc_out.bytes();
}

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
  const int64_t L = m.n_layers, H = m.n_heads, D = m.d_model;
  prev_action_.assign(m.act_dim, 0.0f);
  last_action_.assign(m.act_dim, 0.0f);
  m_.assign(L * H, 0.0f);
  u_.assign(L * H, 0.0f);
  w_.assign(L * D, 0.0f);
  x_.assign(3 * D, 0.0f);
  y_.assign(3 * D, 0.0f);
  values_.assign(3 * D, 0.0f);
  scores_.assign(3 * H, 0.0f);
  mix_.assign(3 * D, 0.0f);
  hidden_.assign(3 * m.ff_dim, 0.0f);
  input_.assign(m.state_dim, 0.0f);
  reset();
}

void Policy::reset() {
  t_ = 0;
  rtg_ = static_cast<float>(target_ / model_->return_scale);
  std::fill(prev_action_.begin(), prev_action_.end(), 0.0f);
  std::fill(m_.begin(), m_.end(), -std::numeric_limits<float>::infinity());
  std::fill(u_.begin(), u_.end(), 0.0f);
  std::fill(w_.begin(), w_.end(), 0.0f);
}

void Policy::act(const double* observation, double* action) {
  const auto& m = *model_;
  const int64_t D = m.d_model, H = m.n_heads, dh = D / H, F = m.ff_dim, S = m.state_dim, A = m.act_dim;
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
    for (int64_t j = 0; j < n; ++j)
      for (int64_t h = 0; h < H; ++h)
        scores_[j * H + h] = layer.score_bias[h] + dot(layer.score_weight.data() + h * D, y_.data() + j * D, D);
    const float* values = y_.data();  // folded: the scan averages the normalised inputs
    if (!layer.values_folded) {
      layer.value.apply(y_.data(), n, values_.data());
      values = values_.data();
    }
    // The scan, token by token: (m, u, w) <- (m', u e^(m-m') + e^(s-m'), w e^(m-m') + v e^(s-m')), o = w/u.
    for (int64_t j = 0; j < n; ++j) {
      for (int64_t h = 0; h < H; ++h) {
        float& mh = m_[l * H + h];
        float& uh = u_[l * H + h];
        float* wh = w_.data() + l * D + h * dh;
        const float s = scores_[j * H + h];
        const float m_new = std::max(mh, s);
        const float keep = std::exp(mh - m_new), add = std::exp(s - m_new);
        mh = m_new;
        uh = uh * keep + add;
        const float* v = values + j * D + h * dh;
        float* o = mix_.data() + j * D + h * dh;
        const float inv_u = 1.0f / uh;
        for (int64_t d = 0; d < dh; ++d) {
          wh[d] = wh[d] * keep + v[d] * add;
          o[d] = wh[d] * inv_u;
        }
      }
    }
    float* xf = x + first * D;
    layer.out.apply(mix_.data() + first * D, count, y_.data());
    for (int64_t i = 0; i < count * D; ++i) xf[i] += y_[i];
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

int64_t Policy::state_bytes() const {
  return static_cast<int64_t>((m_.size() + u_.size() + w_.size()) * sizeof(float));
}

}  // namespace aaren::lean
