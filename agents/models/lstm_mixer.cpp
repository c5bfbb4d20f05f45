#include "agents/models/lstm_mixer.h"

#include <c10/core/impl/LocalDispatchKeySet.h>

namespace aaren {

namespace rnn = torch::nn::utils::rnn;

int64_t LstmState::bytes() const {
  return h.numel() * static_cast<int64_t>(h.element_size()) + c.numel() * static_cast<int64_t>(c.element_size());
}

void LstmState::reset_sequence(int64_t b) {
  torch::NoGradGuard no_grad;
  // Out of place: the tensors may be shared with an autograd graph.
  auto h0 = h.clone(), c0 = c.clone();
  h0.select(1, b).zero_();
  c0.select(1, b).zero_();
  h = h0, c = c0;
}

LstmMixer::LstmMixer(const BackboneConfig& config)
    : d_model_(config.d_model),
      lstm(register_module(
          "lstm", torch::nn::LSTM(torch::nn::LSTMOptions(config.d_model, config.d_model).batch_first(true)))) {}

torch::Tensor LstmMixer::forward(const torch::Tensor& x, const torch::Tensor& mask, MixerState* state,
                                 const torch::Tensor& /*positions*/) {
  TORCH_CHECK(x.dim() == 3 && x.size(2) == d_model_, "lstm mixer: input must be [B, N, ", d_model_, "], got ",
              x.sizes());
  LstmState* own = state ? &state_as<LstmState>(*state, "lstm mixer") : nullptr;
  // Under CUDA autocast LibTorch runs cuDNN's RNN in fp16 whatever autocast's
  // dtype (aten/src/ATen/cudnn/AutocastRNN.cpp, _cudnn_rnn_cast_reflatten:
  // cached_cast(at::kHalf, ...) of input, weights and state), and fp16 needs the
  // loss scaling that a bf16 run does not do. So the LSTM stays out of CUDA
  // autocast and computes in its weights' dtype (fp32 in a bf16 run, as the scan
  // state does): --precision bf16 never means fp16; the LSTM's recurrence costs
  // in a bf16 run what it costs in fp32. CPU autocast has its own dispatch key:
  // the CPU path is unchanged.
  c10::impl::ExcludeDispatchKeyGuard no_cuda_autocast(c10::DispatchKey::AutocastCUDA);
  const auto dtype = lstm->all_weights().front().scalar_type();
  const auto input = x.is_cuda() && x.scalar_type() != dtype ? x.to(dtype) : x;
  if (mask.defined() && !mask.all().item<bool>()) return forward_masked(input, mask, own);
  torch::optional<std::tuple<torch::Tensor, torch::Tensor>> hx;
  if (own) hx = std::make_tuple(own->h, own->c);
  auto [y, final] = lstm->forward(input, hx);
  if (own) std::tie(own->h, own->c) = final;
  return y;
}

// Each row's real tokens are gathered to its front, in order, and run as a
// packed sequence of that row's length; the outputs go back to their places.
// So a real token's output is exactly the LSTM's over the real tokens before
// it, wherever the padding sits (DT's windows pad in front, episodes behind).
torch::Tensor LstmMixer::forward_masked(const torch::Tensor& x, const torch::Tensor& mask, LstmState* state) {
  const auto B = x.size(0), N = x.size(1);
  const auto position = torch::arange(N, mask.options().dtype(torch::kLong)).expand({B, N});
  // Sort key: real tokens first, each group in its order.
  const auto order = std::get<1>(torch::sort((~mask).to(torch::kLong) * N + position, /*dim=*/1));  // [B, N]
  const auto index = order.unsqueeze(2).expand({B, N, d_model_});
  const auto lengths = mask.sum(1);
  // A row with no real token runs one (ignored) step: packing needs lengths >= 1.
  const auto packed = rnn::pack_padded_sequence(x.gather(1, index), lengths.clamp_min(1).to(torch::kCPU),
                                                /*batch_first=*/true, /*enforce_sorted=*/false);
  torch::optional<std::tuple<torch::Tensor, torch::Tensor>> hx;
  if (state) hx = std::make_tuple(state->h, state->c);
  auto [out, final] = lstm->forward_with_packed_input(packed, hx);
  const auto front = std::get<0>(rnn::pad_packed_sequence(out, /*batch_first=*/true, 0.0, N));  // [B, N, D]
  auto y = torch::zeros_like(front).scatter(1, index, front);
  y = y * mask.unsqueeze(2).to(y.scalar_type());  // padded positions output 0
  if (state) {
    const auto any = (lengths > 0).view({1, B, 1});
    state->h = torch::where(any, std::get<0>(final), state->h);
    state->c = torch::where(any, std::get<1>(final), state->c);
  }
  return y;
}

LayerState LstmMixer::initial_state(int64_t batch, const torch::TensorOptions& options) const {
  auto state = std::make_unique<LstmState>();
  state->h = torch::zeros({1, batch, d_model_}, options);
  state->c = torch::zeros({1, batch, d_model_}, options);
  return state;
}

}  // namespace aaren
