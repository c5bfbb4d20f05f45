// The three scans (fast CPU kernel, LibTorch reference, brute-force softmax)
// against each other; gradients against finite differences in double.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include "agents/scan/scan.h"
#include "tests/agents/scan_test_support.h"

using aaren::ScanState;
using aaren::testing::all_finite;
using aaren::testing::max_abs_diff;
using aaren::testing::rel_error;

namespace {

struct ScanProblem {
  torch::Tensor s, v, mask;
  c10::optional<ScanState> init;
};

// Random scores ~ N(0, score_std), values ~ N(0, 1); optionally an initial
// state built by scanning a random prefix, and a random padding mask.
ScanProblem random_problem(int64_t B, int64_t H, int64_t N, int64_t d, torch::Dtype dtype, double score_std,
                           bool with_init, bool with_mask) {
  const auto opt = torch::TensorOptions().dtype(dtype);
  ScanProblem p;
  p.s = torch::randn({B, H, N}, opt) * score_std;
  p.v = torch::randn({B, H, N, d}, opt);
  if (with_init) {
    const int64_t n0 = 5;
    p.init = aaren::scan_reference(torch::randn({B, H, n0}, opt) * score_std, torch::randn({B, H, n0, d}, opt)).final;
  }
  if (with_mask) {
    p.mask = torch::rand({B, N}) > 0.3;
    p.mask.select(1, N - 1).fill_(true);  // at least one real token
  }
  return p;
}

}  // namespace

TEST_CASE("scan: fast == reference == brute force (float64, 1e-10)", "[scan]") {
  torch::manual_seed(1);
  for (auto [N, H, d, init, masked] :
       std::vector<std::tuple<int64_t, int64_t, int64_t, bool, bool>>{{1, 1, 4, false, false},
                                                                      {1, 3, 5, true, false},
                                                                      {2, 2, 3, false, true},
                                                                      {17, 4, 8, true, true},
                                                                      {64, 1, 32, false, false},
                                                                      {333, 2, 16, true, true},
                                                                      {3000, 1, 8, false, false}}) {
    auto p = random_problem(3, H, N, d, torch::kFloat64, 3.0, init, masked);
    const auto truth = aaren::attention_bruteforce(p.s, p.v, p.init, p.mask);
    const auto fast = aaren::scan_fast(p.s, p.v, p.init, p.mask);
    const auto ref = aaren::scan_reference(p.s, p.v, p.init, p.mask);
    INFO("N=" << N << " H=" << H << " d=" << d << " init=" << init << " mask=" << masked);
    CHECK(rel_error(fast.out, truth) < 1e-10);
    CHECK(rel_error(ref.out, truth) < 1e-10);
    // Final states agree as summaries: same m, and the same u, w.
    CHECK(max_abs_diff(fast.final.m, ref.final.m) == 0.0);
    CHECK(rel_error(fast.final.u, ref.final.u) < 1e-10);
    CHECK(rel_error(fast.final.w, ref.final.w) < 1e-10);
  }
}

TEST_CASE("scan: fast == reference == brute force (float32, 1e-5)", "[scan]") {
  torch::manual_seed(2);
  for (auto [B, N, H, d, init, masked] :
       std::vector<std::tuple<int64_t, int64_t, int64_t, int64_t, bool, bool>>{{4, 1, 1, 32, false, false},
                                                                               {2, 7, 4, 32, true, true},
                                                                               {16, 60, 4, 32, false, false},
                                                                               {8, 600, 1, 128, true, false},
                                                                               {2, 3000, 4, 32, false, true},
                                                                               {2, 3000, 1, 128, true, false}}) {
    auto p = random_problem(B, H, N, d, torch::kFloat32, 2.0, init, masked);
    const auto truth = aaren::attention_bruteforce(p.s, p.v, p.init, p.mask);
    INFO("B=" << B << " N=" << N << " H=" << H << " d=" << d);
    CHECK(rel_error(aaren::scan_fast(p.s, p.v, p.init, p.mask).out, truth) < 1e-5);
    CHECK(rel_error(aaren::scan_reference(p.s, p.v, p.init, p.mask).out, truth) < 1e-5);
  }
}

TEST_CASE("scan: extreme scores in [-1e4, 1e4] stay finite and exact", "[scan]") {
  torch::manual_seed(3);
  for (auto dtype : {torch::kFloat32, torch::kFloat64}) {
    const double tol = dtype == torch::kFloat32 ? 1e-5 : 1e-10;
    const int64_t B = 3, H = 2, N = 200, d = 8;
    auto s = (torch::rand({B, H, N}, dtype) * 2 - 1) * 1e4;  // uniform over the whole range
    // Include the corners and long runs of very negative scores (the m = 0 start pitfall).
    s.index_put_({0, 0, 0}, -1e4);
    s.index_put_({0, 0, N - 1}, 1e4);
    s.index_put_({1, 1}, torch::full({N}, -1e4, dtype));
    s.index_put_({2, 0}, torch::linspace(-1e4, 1e4, N, dtype));
    s.index_put_({2, 1}, torch::full({N}, -150.0, dtype) + torch::randn({N}, dtype));
    auto v = torch::randn({B, H, N, d}, dtype);
    const auto truth = aaren::attention_bruteforce(s, v);
    for (bool fast_impl : {true, false}) {
      auto sg = s.clone().requires_grad_(true), vg = v.clone().requires_grad_(true);
      auto r = fast_impl ? aaren::scan_fast(sg, vg) : aaren::scan_reference(sg, vg);
      INFO((fast_impl ? "fast" : "reference") << " " << dtype);
      CHECK(all_finite(r.out));
      CHECK(rel_error(r.out, truth) < tol);
      (r.out * torch::randn_like(r.out)).sum().backward();
      CHECK(all_finite(sg.grad()));
      CHECK(all_finite(vg.grad()));
    }
  }
}

namespace {
// Loss that exercises every gradient path and is invariant to how m is
// represented: outputs of a first chunk, then of a second chunk continued
// from the first's final state, then the final state's own output.
torch::Tensor chained_loss(bool fast, const torch::Tensor& s, const torch::Tensor& v, const ScanState& init,
                           const torch::Tensor& mask, const torch::Tensor& g1, const torch::Tensor& g2,
                           const torch::Tensor& g3) {
  auto scan = fast ? aaren::scan_fast : aaren::scan_reference;
  const auto n1 = s.size(2) / 2;
  const auto N = s.size(2);
  auto r1 = scan(s.narrow(2, 0, n1), v.narrow(2, 0, n1), init, mask.narrow(1, 0, n1));
  auto r2 = scan(s.narrow(2, n1, N - n1), v.narrow(2, n1, N - n1), r1.final, mask.narrow(1, n1, N - n1));
  return (r1.out * g1).sum() + (r2.out * g2).sum() + (r2.final.output() * g3).sum();
}
}  // namespace

TEST_CASE("scan: fast-kernel gradients == finite differences (float64) and == reference autograd", "[scan]") {
  torch::manual_seed(4);
  const int64_t B = 2, H = 2, N = 9, d = 3;
  const auto opt = torch::TensorOptions().dtype(torch::kFloat64);
  auto s = torch::randn({B, H, N}, opt) * 2;
  auto v = torch::randn({B, H, N, d}, opt);
  auto init = aaren::scan_reference(torch::randn({B, H, 4}, opt), torch::randn({B, H, 4, d}, opt)).final;
  init = {init.m.contiguous(), init.u.contiguous(), init.w.contiguous()};  // perturbed in place below
  auto mask = torch::ones({B, N}, torch::kBool);
  mask.index_put_({0, 2}, false);
  mask.index_put_({1, 0}, false);
  mask.index_put_({1, 5}, false);
  const auto g1 = torch::randn({B, H, N / 2, d}, opt), g2 = torch::randn({B, H, N - N / 2, d}, opt);
  const auto g3 = torch::randn({B, H, d}, opt);

  auto grads = [&](bool fast) {
    auto sg = s.clone().requires_grad_(true), vg = v.clone().requires_grad_(true);
    auto ug = init.u.clone().requires_grad_(true), wg = init.w.clone().requires_grad_(true);
    chained_loss(fast, sg, vg, {init.m, ug, wg}, mask, g1, g2, g3).backward();
    return std::vector<torch::Tensor>{sg.grad(), vg.grad(), ug.grad(), wg.grad()};
  };
  const auto fast = grads(true), ref = grads(false);

  // Central differences on every input element.
  const double eps = 1e-6;
  std::vector<torch::Tensor> inputs{s, v, init.u, init.w};
  for (size_t which = 0; which < inputs.size(); ++which) {
    auto fd = torch::zeros_like(inputs[which]);
    auto flat = inputs[which].view(-1);
    for (int64_t i = 0; i < flat.numel(); ++i) {
      const double x0 = flat[i].item<double>();
      auto eval = [&](double x) {
        flat[i] = x;
        return chained_loss(true, s, v, init, mask, g1, g2, g3).item<double>();
      };
      const double up = eval(x0 + eps), down = eval(x0 - eps);
      flat[i] = x0;
      fd.view(-1)[i] = (up - down) / (2 * eps);
    }
    INFO("input " << which << " (0=scores 1=values 2=u0 3=w0)");
    CHECK(max_abs_diff(fast[which], fd) < 1e-7);
    CHECK(rel_error(fast[which], ref[which]) < 1e-10);
  }
  // Padded tokens take no gradient.
  CHECK(fast[0].index({0, torch::indexing::Slice(), 2}).abs().max().item<double>() == 0.0);
  CHECK(fast[1].index({1, torch::indexing::Slice(), 5}).abs().max().item<double>() == 0.0);
}

// d = 20 and 12 cut the kernel's backward sums (16 float lanes, 8 double
// ones, summed in a fixed order) into whole lane blocks and a tail.
TEST_CASE("scan: gradients of fast and reference agree on larger problems, lane blocks and a tail", "[scan]") {
  torch::manual_seed(5);
  for (auto [dtype, d] : std::vector<std::pair<torch::Dtype, int64_t>>{
           {torch::kFloat32, 16}, {torch::kFloat32, 20}, {torch::kFloat64, 12}}) {
    const bool single = dtype == torch::kFloat32;
    const auto opt = torch::TensorOptions().dtype(dtype);
    for (int64_t N : {1, 60, 600}) {
      const int64_t B = 4, H = 2;
      auto s = torch::randn({B, H, N}, opt) * 3, v = torch::randn({B, H, N, d}, opt);
      auto g = torch::randn({B, H, N, d}, opt);
      auto run = [&](bool fast) {
        auto sg = s.clone().requires_grad_(true), vg = v.clone().requires_grad_(true);
        auto r = fast ? aaren::scan_fast(sg, vg) : aaren::scan_reference(sg, vg);
        (r.out * g).sum().backward();
        return std::make_pair(sg.grad(), vg.grad());
      };
      auto [ds_f, dv_f] = run(true);
      auto [ds_r, dv_r] = run(false);
      INFO("N=" << N << " d=" << d << (single ? " float32" : " float64"));
      CHECK(rel_error(ds_f, ds_r) < (single ? 1e-4 : 1e-10));
      CHECK(rel_error(dv_f, dv_r) < (single ? 1e-5 : 1e-10));
    }
  }
}

TEST_CASE("scan: padded tokens change nothing", "[scan]") {
  torch::manual_seed(6);
  const int64_t H = 2, N = 40, d = 8;
  for (bool fast : {true, false}) {
    auto scan = fast ? aaren::scan_fast : aaren::scan_reference;
    auto s = torch::randn({1, H, N}) * 3, v = torch::randn({1, H, N, d});
    auto mask = torch::rand({1, N}) > 0.4;
    mask.index_put_({0, 0}, false);  // left padding too
    const auto idx = mask[0].nonzero().squeeze(1);
    // The same real tokens without padding.
    auto compact = scan(s.index_select(2, idx), v.index_select(2, idx), c10::nullopt, {});
    // Padded positions get wild values: they must not matter.
    auto s_pad = torch::where(mask.unsqueeze(1), s, torch::full_like(s, 1e4));
    auto v_pad = torch::where(mask.view({1, 1, N, 1}), v, torch::full_like(v, -1e6));
    auto padded = scan(s_pad, v_pad, c10::nullopt, mask);
    INFO((fast ? "fast" : "reference"));
    CHECK(max_abs_diff(padded.out.index_select(2, idx), compact.out) < 1e-6);
    CHECK(padded.out.index_select(2, (~mask[0]).nonzero().squeeze(1)).abs().max().item<float>() == 0.0f);
    CHECK(max_abs_diff(padded.final.output(), compact.final.output()) < 1e-6);
  }
}

TEST_CASE("scan: chunks with the carried state == one pass", "[scan]") {
  torch::manual_seed(7);
  const int64_t B = 3, H = 2, N = 500, d = 16;
  auto s = torch::randn({B, H, N}, torch::kFloat64) * 4, v = torch::randn({B, H, N, d}, torch::kFloat64);
  for (bool fast : {true, false}) {
    auto scan = fast ? aaren::scan_fast : aaren::scan_reference;
    auto whole = scan(s, v, c10::nullopt, {});
    std::vector<torch::Tensor> outs;
    c10::optional<ScanState> state;
    const std::vector<int64_t> bounds{0, 1, 100, 101, 377, N};  // chunks of 1, 99, 1, 276, 123 tokens
    for (size_t c = 0; c + 1 < bounds.size(); ++c) {
      const int64_t start = bounds[c], len = bounds[c + 1] - bounds[c];
      auto r = scan(s.narrow(2, start, len), v.narrow(2, start, len), state, {});
      outs.push_back(r.out);
      state = r.final;
    }
    INFO((fast ? "fast" : "reference"));
    CHECK(rel_error(torch::cat(outs, 2), whole.out) < 1e-12);
    CHECK(rel_error(state->output(), whole.final.output()) < 1e-12);
  }
}

TEST_CASE("scan: state size does not depend on the number of tokens", "[scan]") {
  auto st = ScanState::empty(2, 4, 32, torch::TensorOptions());
  const auto before = st.bytes();
  for (int i = 0; i < 50; ++i) st = aaren::scan_fast(torch::randn({2, 4, 1}), torch::randn({2, 4, 1, 32}), st).final;
  CHECK(st.bytes() == before);
  CHECK(before == (2 * 4 * 2 + 2 * 4 * 32) * 4);
}

TEST_CASE("scan: bad inputs give clear errors", "[scan]") {
  auto s = torch::randn({2, 1, 5}), v = torch::randn({2, 1, 5, 4});
  CHECK_THROWS_WITH(aaren::scan_fast(s.view({2, 5}), v), Catch::Contains("scores must be [B, H, N]"));
  CHECK_THROWS_WITH(aaren::scan_fast(s, v.narrow(2, 0, 4)), Catch::Contains("do not match scores"));
  CHECK_THROWS_WITH(aaren::scan_reference(s, v.to(torch::kFloat64)), Catch::Contains("dtype"));
  CHECK_THROWS_WITH(aaren::scan_fast(s, v, c10::nullopt, torch::ones({2, 4}, torch::kBool)),
                    Catch::Contains("mask must be bool [B, N]"));
  CHECK_THROWS_WITH(aaren::scan_fast(s, v, ScanState::empty(2, 1, 3, {}), {}),
                    Catch::Contains("initial state must be"));
}
