#include "agents/acting/decision_rollout.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace aaren {

DecisionBatchPolicy::DecisionBatchPolicy(DecisionPolicy model, StateNormalizer normalizer, double return_scale,
                                         double target_return, ActMode mode, int64_t num_envs, int64_t rows)
    : model_(std::move(model)),
      norm_(std::move(normalizer)),
      scale_(return_scale),
      target_(target_return),
      mode_(descriptor(model_->config().backbone.kind).resolve_mode(mode)),
      n_(num_envs),
      m_(std::max(rows, num_envs)),
      fixed_rows_(rows > 0),
      S_(model_->config().state_dim),
      A_(model_->config().act_dim),
      K_(model_->config().context) {
  model_->eval();
  model_->backbone->prepare_inference();  // the weights stay as they are while this policy acts
  // All of the policy's tensors live in inference mode (no autograd
  // bookkeeping per op); the state is made and updated only in it.
  c10::InferenceMode inference;
  state_ = model_->initial_state(m_);
  rtg_.assign(m_, static_cast<float>(target_ / scale_));
  t_.assign(m_, 0);
  prev_action_.assign(m_ * A_, 0.0f);
  last_action_.assign(m_ * A_, 0.0f);
  history_.resize(n_);
  row_.resize(n_);
  std::iota(row_.begin(), row_.end(), 0);
  episodes_begun_.assign(n_, 0);
  slot_at_row_.assign(m_, -1);
  for (int64_t i = 0; i < n_; ++i) slot_at_row_[i] = i;
}

int64_t DecisionBatchPolicy::take_row(int64_t slot) {
  const int64_t episode = slot + episodes_begun_[slot]++ * n_;
  if (!fixed_rows_) return slot;
  slot_at_row_[row_[slot]] = -1;
  int64_t row = episode % m_;
  if (slot_at_row_[row] >= 0)  // another env's episode is there: the first free row
    row = std::find(slot_at_row_.begin(), slot_at_row_.end(), -1) - slot_at_row_.begin();
  slot_at_row_[row] = slot;
  return row_[slot] = row;
}

void DecisionBatchPolicy::begin_episode(int64_t slot) {
  const int64_t row = take_row(slot);
  rtg_[row] = static_cast<float>(target_ / scale_);
  t_[row] = 0;
  std::fill(prev_action_.begin() + row * A_, prev_action_.begin() + (row + 1) * A_, 0.0f);
  history_[slot].clear();
  if (mode_ == ActMode::kWindow) return;
  c10::InferenceMode inference;
  if (n_ == 1)
    state_ = model_->initial_state(m_);  // a fresh state: a KV cache gives back its memory
  else
    state_.reset_sequence(row);  // others go on: masked out (a KV cache keeps its memory)
}

void DecisionBatchPolicy::act(const envs::VectorEnv& envs, std::vector<double>& actions) {
  act(envs.observations(), actions);
}

void DecisionBatchPolicy::act(const std::vector<double>& obs, std::vector<double>& actions) {
  TORCH_CHECK(static_cast<int64_t>(obs.size()) == n_ * S_, "decision policy: expected ", n_ * S_,
              " observation values, got ", obs.size());
  c10::InferenceMode inference;
  std::vector<float> by_row(m_ * S_, 0.0f);  // each env's observation in its row; the others padding
  for (int64_t i = 0; i < n_; ++i)
    std::copy(obs.begin() + i * S_, obs.begin() + (i + 1) * S_, by_row.begin() + row_[i] * S_);
  auto states = norm_.apply(torch::tensor(by_row).view({m_, S_}));
  torch::Tensor out;
  if (mode_ == ActMode::kWindow) {
    // DT: append (s_t, R_t, t) to each env's history, keep the last K steps,
    // left-pad, and re-run the whole window; the action slot of the current
    // step is zero (it comes after s_t, so causal attention never sees it).
    auto states_acc = states.accessor<float, 2>();
    for (int64_t i = 0; i < n_; ++i) {
      const int64_t r = row_[i];
      Step s{std::vector<float>(S_), std::vector<float>(A_, 0.0f), rtg_[r], t_[r]};
      for (int64_t k = 0; k < S_; ++k) s.state[k] = states_acc[r][k];
      history_[i].push_back(std::move(s));
      while (static_cast<int64_t>(history_[i].size()) > K_) history_[i].pop_front();
    }
    auto bs = torch::zeros({m_, K_, S_}), ba = torch::zeros({m_, K_, A_}), br = torch::zeros({m_, K_});
    auto bt = torch::zeros({m_, K_}, torch::kInt64);
    auto bm = torch::zeros({m_, K_}, torch::kBool);
    for (int64_t r = 0; r < m_; ++r)
      if (slot_at_row_[r] < 0) bm[r].fill_(true);  // padding rows: zeros, never all masked
    for (int64_t i = 0; i < n_; ++i) {
      const int64_t r = row_[i], len = static_cast<int64_t>(history_[i].size()), pad = K_ - len;
      for (int64_t j = 0; j < len; ++j) {
        const auto& s = history_[i][j];
        std::copy(s.state.begin(), s.state.end(), bs[r][pad + j].data_ptr<float>());
        std::copy(s.action.begin(), s.action.end(), ba[r][pad + j].data_ptr<float>());
        br[r][pad + j] = s.rtg;
        bt[r][pad + j] = s.t;
        bm[r][pad + j] = true;
      }
    }
    out = model_->forward(bs, ba, br, bt, bm).select(1, K_ - 1);
  } else {
    const auto prev = torch::tensor(prev_action_).view({m_, A_});
    const auto rtg = torch::tensor(rtg_);
    const auto t = torch::tensor(t_, torch::kInt64);
    // With a fixed row count the mask is always given, so every row takes the same path whatever n_ is.
    const bool any_first = fixed_rows_ || std::find(t_.begin(), t_.end(), 0) != t_.end();
    out = model_->act(prev, rtg, states, t, any_first ? t == 0 : torch::Tensor(), state_);
  }
  peak_state_bytes_ = std::max(peak_state_bytes_, state_bytes());
  out = out.contiguous();  // keep the contiguous copy alive while reading it
  const float* a = out.data_ptr<float>();
  for (int64_t i = 0; i < n_; ++i)
    for (int64_t k = 0; k < A_; ++k) {
      const int64_t at = row_[i] * A_ + k;
      actions[i * A_ + k] = a[at];
      last_action_[at] = a[at];
    }
}

void DecisionBatchPolicy::observe(const envs::VectorEnv& envs) {
  for (int64_t i = 0; i < n_; ++i)
    if (envs.active(i) || envs.dones()[i]) advance_env(i, envs.rewards()[i]);
}

void DecisionBatchPolicy::advance(const std::vector<double>& rewards) {
  TORCH_CHECK(static_cast<int64_t>(rewards.size()) == n_, "decision policy: expected ", n_, " rewards, got ",
              rewards.size());
  for (int64_t i = 0; i < n_; ++i) advance_env(i, rewards[i]);
}

void DecisionBatchPolicy::advance_env(int64_t i, double reward) {
  const int64_t r = row_[i];
  rtg_[r] -= static_cast<float>(reward / scale_);
  std::copy(last_action_.begin() + r * A_, last_action_.begin() + (r + 1) * A_, prev_action_.begin() + r * A_);
  if (mode_ == ActMode::kWindow && !history_[i].empty())
    std::copy(last_action_.begin() + r * A_, last_action_.begin() + (r + 1) * A_, history_[i].back().action.begin());
  ++t_[r];
}

int64_t DecisionBatchPolicy::state_bytes() const {
  if (mode_ != ActMode::kWindow) return state_.bytes() / m_ * n_;  // the real rows' (every row's is the same)
  int64_t bytes = 0;
  for (const auto& h : history_) bytes += static_cast<int64_t>(h.size()) * ((S_ + A_ + 1) * 4 + 8);
  return bytes;
}

}  // namespace aaren
