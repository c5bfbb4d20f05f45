// The fused CPU attention (agents/models/attention_cpu.h) against causal
// softmax attention written out in float64 with LibTorch ops: outputs and
// gradients, with padded keys (DT's left padding and scattered), rows with
// no visible key, and scores from small to extreme.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "agents/models/attention_cpu.h"
#include "agents/models/causal_attention.h"

namespace {

// softmax over keys t <= n that are real; a row with none outputs 0.
torch::Tensor reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask) {
  const int64_t B = q.size(0), N = q.size(2);
  auto allowed = torch::ones({N, N}, torch::kBool).tril().view({1, 1, N, N});
  if (key_mask.defined()) allowed = allowed & key_mask.view({B, 1, 1, N});
  auto scores = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(q.size(3)));
  scores = scores.masked_fill(~allowed, -std::numeric_limits<double>::infinity());
  auto p = torch::softmax(scores, -1).nan_to_num(0.0);  // all -inf rows: NaN -> 0
  return torch::matmul(p, v);
}

}  // namespace

TEST_CASE("fused CPU attention == causal softmax attention in float64: outputs and gradients", "[attention]") {
  REQUIRE(aaren::fused_attention_applies(torch::zeros({1, 1, 4, 2}, torch::kFloat), 4));
  REQUIRE_FALSE(aaren::fused_attention_applies(torch::zeros({1, 1, 4, 2}, torch::kBFloat16), 4));
  torch::manual_seed(21);
  for (const double scale : {0.1, 1.0, 30.0}) {
    for (const int padding : {0, 1, 2}) {  // none, DT's left padding, scattered (with rows that see no key)
      INFO("scale " << scale << ", padding " << padding);
      const int64_t B = 3, H = 2, N = 17, d = 8;
      auto make = [&] { return (torch::randn({B, H, N, d}, torch::kDouble) * std::sqrt(scale)).requires_grad_(); };
      auto q = make(), k = make(), v = make();
      torch::Tensor mask;
      if (padding == 1) mask = torch::arange(N).unsqueeze(0) >= torch::tensor({0, 5, 16}).unsqueeze(1);
      if (padding == 2) mask = torch::rand({B, N}) > 0.4;
      const auto out = aaren::fused_causal_attention(q, k, v, mask);
      const auto q2 = q.detach().clone().requires_grad_(), k2 = k.detach().clone().requires_grad_(),
                 v2 = v.detach().clone().requires_grad_();
      const auto ref = reference(q2, k2, v2, mask);
      CHECK((out - ref).abs().max().item<double>() < 1e-12);
      const auto w = torch::randn_like(ref);  // a random downstream loss
      (out * w).sum().backward();
      (ref * w).sum().backward();
      CHECK((q.grad() - q2.grad()).abs().max().item<double>() < 1e-10);
      CHECK((k.grad() - k2.grad()).abs().max().item<double>() < 1e-10);
      CHECK((v.grad() - v2.grad()).abs().max().item<double>() < 1e-10);
      // float32 through the same kernel, against the float64 truth.
      const auto outf = aaren::fused_causal_attention(q.detach().to(torch::kFloat), k.detach().to(torch::kFloat),
                                                      v.detach().to(torch::kFloat), mask);
      CHECK((outf.to(torch::kDouble) - ref).abs().max().item<double>() < 1e-4 * (1 + scale));
      // The model's entry point takes the fused path with offset 0.
      CHECK((aaren::causal_softmax_attention(q.detach(), k.detach(), v.detach(), mask, 0) - ref)
                .abs()
                .max()
                .item<double>() < 1e-12);
    }
  }
}

TEST_CASE("fused self-attention on a packed qkv == split heads, attend, zero padded queries, merge: float64",
          "[attention]") {
  torch::manual_seed(22);
  for (const double scale : {0.1, 1.0, 30.0}) {
    for (const int padding : {0, 1, 2}) {
      for (const int64_t H : {1, 4}) {
        INFO("scale " << scale << ", padding " << padding << ", heads " << H);
        const int64_t B = 3, N = 13, d = 4, D = H * d;
        auto qkv = (torch::randn({B, N, 3 * D}, torch::kDouble) * std::sqrt(scale)).requires_grad_();
        torch::Tensor mask;
        if (padding == 1) mask = torch::arange(N).unsqueeze(0) >= torch::tensor({0, 5, 12}).unsqueeze(1);
        if (padding == 2) mask = torch::rand({B, N}) > 0.4;
        const auto out = aaren::fused_causal_self_attention(qkv, mask, H);
        REQUIRE(out.sizes() == torch::IntArrayRef({B, N, D}));
        // The layer written out with LibTorch ops.
        const auto qkv2 = qkv.detach().clone().requires_grad_();
        const auto parts = qkv2.view({B, N, 3, H, d}).permute({2, 0, 3, 1, 4});
        auto o = reference(parts[0], parts[1], parts[2], mask);
        if (mask.defined()) o = o * mask.view({B, 1, N, 1}).to(torch::kDouble);
        const auto ref = o.permute({0, 2, 1, 3}).reshape({B, N, D});
        CHECK((out - ref).abs().max().item<double>() < 1e-12);
        const auto w = torch::randn_like(ref);
        (out * w).sum().backward();
        (ref * w).sum().backward();
        CHECK((qkv.grad() - qkv2.grad()).abs().max().item<double>() < 1e-10);
        // A non-contiguous input (a column slice) is read correctly too.
        const auto wide = torch::randn({B, N, 3 * D + 5}, torch::kDouble);
        wide.narrow(2, 2, 3 * D).copy_(qkv.detach());
        CHECK((aaren::fused_causal_self_attention(wide.narrow(2, 2, 3 * D), mask, H) - ref).abs().max().item<double>() <
              1e-12);
      }
    }
  }
  CHECK_THROWS_WITH(aaren::fused_causal_self_attention(torch::zeros({2, 3, 10}, torch::kDouble), {}, 2),
                    Catch::Contains("qkv must be [B, N, 3 D]"));
}

namespace {
// The order softmax_backward_dot promises, written so that no compiler can
// fuse or reorder it: each of the first 8 floor(n / 8) products rounded on
// its own (a volatile store) and added in order, then one fused
// multiply-add per remaining term.
template <class T>
T dot_in_the_promised_order(const T* p, const T* g, int n) {
  T dot = 0;
  for (int j = 0; j < n / 8 * 8; ++j) {
    volatile T product = p[j] * g[j];
    dot = dot + product;
  }
  for (int j = n / 8 * 8; j < n; ++j) dot = std::fma(p[j], g[j], dot);
  return dot;
}

template <class T>
void check_dot_order(torch::ScalarType type) {
  for (int n = 1; n <= 70; ++n) {
    // Products of mixed sign and size, so that where a rounding falls shows in the sum.
    const auto p = torch::rand({n}, type), g = torch::randn({n}, type) * torch::exp(torch::randn({n}, type) * 3);
    const T* pp = p.template data_ptr<T>();
    const T* gp = g.template data_ptr<T>();
    INFO("n = " << n);
    REQUIRE(aaren::softmax_backward_dot(pp, gp, n) == dot_in_the_promised_order(pp, gp, n));
  }
}
}  // namespace

// The backward's one sum of the toolkit's own: a loop left to the compiler is
// vectorised at the host's width under -march=native, so its rounding (which
// terms are fused multiply-adds) differed between an AMD EPYC and an Intel
// Xeon build; the order is now the source's (attention_cpu.cpp). Checked bit
// for bit on whatever machine builds the tests.
TEST_CASE("fused attention backward: the softmax Jacobian's row sum is in the source's order, bit for bit",
          "[attention]") {
  torch::manual_seed(5);
  check_dot_order<float>(torch::kFloat);
  check_dot_order<double>(torch::kDouble);
}
