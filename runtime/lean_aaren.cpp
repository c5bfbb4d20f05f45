#include "runtime/lean_aaren.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace aaren::lean {

AarenMixer::AarenMixer(const PolicyFile& f, const std::string& b, int64_t D, int64_t H) : D_(D), H_(H) {
  const int64_t dh = D / H;
  // Fold the key into the query (in double): score_h = (W_h^T q_h)·x/sqrt(d) + q_h·b_h/sqrt(d).
  const auto& q = f.tensor(b + "query", {H, dh}).data;
  const auto& wk = f.tensor(b + "key.weight", {D, D}).data;
  const auto& bk = f.tensor(b + "key.bias", {D}).data;
  const auto wv = copy_of(f, b + "value.weight", {D, D});
  const auto bv = copy_of(f, b + "value.bias", {D});
  const auto wo = copy_of(f, b + "out.weight", {D, D});
  const auto bo = copy_of(f, b + "out.bias", {D});
  const double scale = 1.0 / std::sqrt(static_cast<double>(dh));
  score_weight_.assign(H * D, 0.0f);
  score_bias_.assign(H, 0.0f);
  for (int64_t h = 0; h < H; ++h) {
    double bsum = 0;
    for (int64_t d = 0; d < dh; ++d) bsum += double(q[h * dh + d]) * scale * bk[h * dh + d];
    score_bias_[h] = static_cast<float>(bsum);
    for (int64_t k = 0; k < D; ++k) {
      double s = 0;
      for (int64_t d = 0; d < dh; ++d) s += double(q[h * dh + d]) * scale * wk[(h * dh + d) * D + k];
      score_weight_[h * D + k] = static_cast<float>(s);
    }
  }
  values_folded_ = H == 1;
  if (!values_folded_) {
    value_ = PackedLinear::pack(wv, bv, D, D);
    out_ = PackedLinear::pack(wo, bo, D, D);
    return;
  }
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
  out_ = PackedLinear::pack(w_ov, b_ov, D, D);
}

void AarenMixer::reset(float* state) const {
  std::fill(state, state + H_, -std::numeric_limits<float>::infinity());  // m
  std::fill(state + H_, state + 2 * H_ + D_, 0.0f);                       // u, w
}

int64_t AarenMixer::bytes() const {
  const int64_t scores = static_cast<int64_t>((score_weight_.size() + score_bias_.size()) * sizeof(float));
  return scores + value_.bytes() + out_.bytes();
}

void AarenMixer::mix(const float* y, int64_t n, int64_t first, float* state, float* x, float* scratch) const {
  const int64_t D = D_, H = H_, dh = D / H;
  float* scores = scratch;            // [3][H]
  float* projected = scores + 3 * H;  // [3][D]: the values, when not folded
  float* mixed = projected + 3 * D;   // [3][D]: the attention's outputs
  float* out = mixed + 3 * D;         // [3][D]: after the output projection
  for (int64_t j = 0; j < n; ++j)
    for (int64_t h = 0; h < H; ++h)
      scores[j * H + h] = score_bias_[h] + dot(score_weight_.data() + h * D, y + j * D, D);
  const float* values = y;  // folded: the scan averages the normalised inputs
  if (!values_folded_) {
    value_.apply(y, n, projected);
    values = projected;
  }
  // The scan, token by token: (m, u, w) <- (m', u e^(m-m') + e^(s-m'), w e^(m-m') + v e^(s-m')), o = w/u.
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t h = 0; h < H; ++h) {
      float& mh = state[h];
      float& uh = state[H + h];
      float* wh = state + 2 * H + h * dh;
      const float s = scores[j * H + h];
      const float m_new = std::max(mh, s);
      const float keep = std::exp(mh - m_new), add = std::exp(s - m_new);
      mh = m_new;
      uh = uh * keep + add;
      const float* v = values + j * D + h * dh;
      float* o = mixed + j * D + h * dh;
      const float inv_u = 1.0f / uh;
      for (int64_t d = 0; d < dh; ++d) {
        wh[d] = wh[d] * keep + v[d] * add;
        o[d] = wh[d] * inv_u;
      }
    }
  }
  const int64_t count = n - first;
  out_.apply(mixed + first * D, count, out);
  float* xf = x + first * D;
  for (int64_t i = 0; i < count * D; ++i) xf[i] += out[i];
}

}  // namespace aaren::lean
