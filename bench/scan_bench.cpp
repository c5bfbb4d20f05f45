#include "bench/scan_bench.h"

#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <iomanip>
#include <ostream>

#include "agents/models/causal_attention.h"
#include "agents/models/device.h"
#include "agents/scan/scan.h"

namespace aaren::bench {

const std::vector<base::ConfigField<ScanBenchConfig>>& ScanBenchConfig::fields() {
  using C = ScanBenchConfig;
  using base::field;
  static const std::vector<base::ConfigField<C>> table{
      field("lengths", &C::lengths, "sequence lengths N"),
      field("heads", &C::heads, "head counts H"),
      field("batch-size", &C::batch, "batch size B"),
      field("embed-dim", &C::d_model, "model width (H x d_head)"),
      field("threads", &C::threads, "LibTorch threads"),
      field("min-rounds", &C::min_rounds, "interleaved timing rounds per case, at least"),
      field("min-seconds", &C::min_seconds, "keep adding rounds until a case has run this long"),
      field("seed", &C::seed, "random seed of the inputs"),
      field("no-errors", &C::no_errors, "skip the comparison with the float64 brute force",
            {"", false, std::nullopt, true}),
      field("device", &C::device, "cpu | cuda | cuda:N (a CUDA LibTorch)"),
  };
  return table;
}

nlohmann::json ScanBenchConfig::to_json() const { return base::fields_to_json(*this, fields()); }

namespace {

// The problem all three variants solve: one learned query q [H, d] per head
// attending causally over keys K and values V [B, H, N, d]. The scans take
// the scores s = K q / sqrt(d); attention takes Q = q at every position.
struct ScanInputs {
  torch::Tensor q, K, V, grad_out;
};

using MixerForward =
    std::function<torch::Tensor(const torch::Tensor& q, const torch::Tensor& K, const torch::Tensor& V)>;

torch::Tensor scores_of(const torch::Tensor& q, const torch::Tensor& K) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(1)));
  return torch::matmul(K, (q * scale).unsqueeze(0).unsqueeze(-1)).squeeze(-1);  // [B, H, N]
}

// Wall time of fn, queued GPU work included.
double time_once(const std::function<void()>& fn, const torch::Device& device) {
  synchronize(device);
  const double t0 = now_seconds();
  fn();
  synchronize(device);
  return now_seconds() - t0;
}

}  // namespace

Table run_scan_bench(const ScanBenchConfig& config, std::ostream* progress) {
  const torch::Device device = parse_device("--device", config.device);
  const std::vector<std::string> names{"fast", "reference", "attention"};
  const std::vector<MixerForward> variants{
      [](auto& q, auto& K, auto& V) { return scan_fast(scores_of(q, K), V).out; },
      [](auto& q, auto& K, auto& V) { return scan_reference(scores_of(q, K), V).out; },
      [](auto& q, auto& K, auto& V) {
        const auto Q = q.unsqueeze(0).unsqueeze(2).expand_as(K).contiguous();
        return causal_softmax_attention(Q, K, V);
      }};

  Table table;
  table.columns = {"heads",         "tokens",      "fast_fwd_ms",    "fast_fwdbwd_ms",  "ref_fwd_ms",
                   "ref_fwdbwd_ms", "attn_fwd_ms", "attn_fwdbwd_ms", "ref/fast_fwdbwd", "attn/fast_fwdbwd",
                   "fast_max_err",  "ref_max_err", "attn_max_err",   "rounds"};

  for (const int64_t H : config.heads) {
    for (const int64_t N : config.lengths) {
      const int64_t B = config.batch, d = config.d_model / H;
      torch::manual_seed(config.seed);
      ScanInputs in{torch::randn({H, d}).to(device), torch::randn({B, H, N, d}).to(device),
                    torch::randn({B, H, N, d}).to(device), torch::randn({B, H, N, d}).to(device)};

      std::vector<std::vector<double>> fwd(names.size()), fwdbwd(names.size());
      std::vector<torch::Tensor> outputs(names.size());
      const double case_start = now_seconds();
      int rounds = 0;
      // Rounds interleave the variants so that machine noise hits all alike.
      while (rounds < config.min_rounds || (now_seconds() - case_start < config.min_seconds && rounds < 1000)) {
        for (size_t v = 0; v < variants.size(); ++v) {
          fwd[v].push_back(time_once(
              [&] {
                torch::NoGradGuard no_grad;
                outputs[v] = variants[v](in.q, in.K, in.V);
              },
              device));
          fwdbwd[v].push_back(time_once(
              [&] {
                auto K = in.K.detach().requires_grad_(true), V = in.V.detach().requires_grad_(true);
                variants[v](in.q, K, V).backward(in.grad_out);
              },
              device));
        }
        ++rounds;
      }

      std::vector<double> err(names.size(), std::nan(""));
      if (!config.no_errors) {
        torch::NoGradGuard no_grad;
        const auto truth = attention_bruteforce(scores_of(in.q, in.K), in.V);
        for (size_t v = 0; v < names.size(); ++v)
          err[v] = (outputs[v].to(torch::kFloat64) - truth).abs().max().item<double>();  // on the device
      }
      auto ms = [](const std::vector<double>& s) { return 1e3 * median(s); };
      table.add_row({H, N, ms(fwd[0]), ms(fwdbwd[0]), ms(fwd[1]), ms(fwdbwd[1]), ms(fwd[2]), ms(fwdbwd[2]),
                     median(fwdbwd[1]) / median(fwdbwd[0]), median(fwdbwd[2]) / median(fwdbwd[0]), err[0], err[1],
                     err[2], static_cast<int64_t>(rounds)});
      if (progress) {
        *progress << "[bench scan] H=" << H << " N=" << N << ": fast " << std::fixed << std::setprecision(3)
                  << ms(fwdbwd[0]) << " ms, reference " << ms(fwdbwd[1]) << " ms, attention " << ms(fwdbwd[2])
                  << " ms fwd+bwd (" << rounds << " rounds, " << std::setprecision(1) << now_seconds() - case_start
                  << " s)" << std::endl;
      }
    }
  }
  return table;
}

}  // namespace aaren::bench
