#include "bench/train_bench.h"

#include <ATen/record_function.h>
#include <malloc.h>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iomanip>
#include <map>
#include <ostream>
#include <stdexcept>

#include "agents/models/decision_policy.h"
#include "agents/models/device.h"
#include "agents/training/distributed.h"
#include "base/svg_plot.h"
#include "bench/policy_bench.h"

namespace aaren::bench {

int64_t peak_resident_bytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;  // "VmHWM:   1234 kB"
  return -1;
}

bool reset_peak_resident() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";  // resets the peak RSS (VmHWM) to the current RSS
  clear.flush();
  return static_cast<bool>(clear);
}

void TrainBenchConfig::validate() const {
  auto fail = [](const std::string& what) { throw std::invalid_argument(what); };
  if (lengths.empty()) fail("--lengths needs at least one length");
  for (auto n : lengths)
    if (n < 3 || n % 3 != 0)
      fail("--lengths must be positive multiples of 3 (tokens R, s, a per step), got " + std::to_string(n));
  if (batch < 1) fail("--batch-size must be >= 1");
  if (d_model < 1 || n_layers < 1 || n_heads < 1 || d_model % n_heads != 0)
    fail("--embed-dim, --layers and --heads must be >= 1, and --heads must divide --embed-dim");
  if (threads < 1) fail("--threads must be >= 1");
  if (min_rounds < 1) fail("--min-rounds must be >= 1");
  parse_device("--device", device);
  check_precision("--precision", precision);
  for (const int n : nproc) {
    if (n < 1 || n > 1024) fail("--nproc values must be in [1, 1024]");
    if (batch % n != 0)
      fail("--batch-size " + std::to_string(batch) + " must be a multiple of every --nproc (it is the global batch)");
  }
  if (!(dist_timeout > 0)) fail("--dist-timeout must be > 0 seconds");
}

nlohmann::json TrainBenchConfig::to_json() const {
  return {{"lengths", lengths},         {"batch", batch},     {"d_model", d_model},
          {"n_layers", n_layers},       {"n_heads", n_heads}, {"state_dim", state_dim},
          {"act_dim", act_dim},         {"threads", threads}, {"min_rounds", min_rounds},
          {"min_seconds", min_seconds}, {"seed", seed},       {"device", device},
          {"precision", precision},     {"nproc", nproc},     {"dist_timeout", dist_timeout}};
}

namespace {

struct Trainer {
  DecisionPolicy model{nullptr};
  std::unique_ptr<torch::optim::AdamW> optimizer;
};

struct Batch {
  torch::Tensor states, actions, rtg, timesteps;
};

// DT's update: MSE between predicted and dataset actions, gradient clip 0.25,
// AdamW; the forward pass in bf16 autocast when asked. Returns when the
// device has finished it.
// With `reducer`, the gradients are summed across ranks before the clip
// (the data-parallel update), and the all-reduce's seconds are returned.
double train_step(Trainer& t, const Batch& b, const torch::Device& device, bool bf16,
                  dist::GradientAllReduce* reducer = nullptr) {
  torch::Tensor predicted, loss;
  {
    RECORD_USER_SCOPE("phase: forward");
    const AutocastScope amp(bf16, device);
    predicted = t.model->forward(b.states, b.actions, b.rtg, b.timesteps);
  }
  {
    RECORD_USER_SCOPE("phase: loss and backward");
    loss = torch::mse_loss(predicted.to(torch::kFloat), b.actions);
    t.optimizer->zero_grad();
    loss.backward();
  }
  double allreduce = 0;
  if (reducer) {
    const double t0 = now_seconds();
    reducer->reduce(t.model->parameters(), loss.item<double>(), b.states.size(0) * b.states.size(1));
    allreduce = now_seconds() - t0;
  }
  {
    RECORD_USER_SCOPE("phase: clip");
    torch::nn::utils::clip_grad_norm_(t.model->parameters(), 0.25);
  }
  {
    RECORD_USER_SCOPE("phase: AdamW step");
    t.optimizer->step();
  }
  synchronize(device);
  return allreduce;
}

std::vector<Trainer> make_trainers(const TrainBenchConfig& c, const torch::Device& device) {
  std::vector<Trainer> trainers;
  for (const auto kind : {BackboneKind::kAaren, BackboneKind::kTransformer}) {
    torch::manual_seed(c.seed);
    DecisionConfig dc;
    dc.state_dim = c.state_dim;
    dc.act_dim = c.act_dim;
    dc.backbone.kind = kind;
    dc.backbone.d_model = c.d_model;
    dc.backbone.n_layers = c.n_layers;
    dc.backbone.n_heads = c.n_heads;
    Trainer t{DecisionPolicy(dc), nullptr};
    t.model->to(device);
    t.model->train();
    t.optimizer = std::make_unique<torch::optim::AdamW>(t.model->parameters(),
                                                        torch::optim::AdamWOptions(1e-4).weight_decay(1e-4));
    trainers.push_back(std::move(t));
  }
  return trainers;
}

Batch random_batch(const TrainBenchConfig& c, int64_t batch, int64_t T, uint64_t seed, const torch::Device& device) {
  torch::manual_seed(seed);
  return {torch::randn({batch, T, c.state_dim}).to(device), (torch::rand({batch, T, c.act_dim}) * 2 - 1).to(device),
          torch::randn({batch, T}).to(device),
          torch::arange(T).clamp_max(999).expand({batch, T}).contiguous().to(device)};
}

}  // namespace

Table run_train_bench(const TrainBenchConfig& c, std::ostream* progress) {
  c.validate();
  at::set_num_threads(c.threads);
  const torch::Device device = parse_device("--device", c.device);
  const bool bf16 = c.precision == "bf16";
  auto trainers = make_trainers(c, device);
  const size_t kinds = trainers.size();

  Table table;
  table.columns = {"tokens",        "env_steps",           "batch",
                   "aaren_ms",      "transformer_ms",      "transformer_over_aaren",
                   "aaren_peak_mb", "transformer_peak_mb", "rounds"};
  for (const int64_t N : c.lengths) {
    const int64_t T = N / 3;
    const Batch b = random_batch(c, c.batch, T, c.seed + N, device);
    // Peak memory: one step of each alone, from a trimmed heap.
    std::vector<double> peak_mb;
    for (auto& t : trainers) {
      malloc_trim(0);
      const int64_t before = resident_bytes();
      const bool ok = reset_peak_resident();
      train_step(t, b, device, bf16);
      const int64_t peak = peak_resident_bytes();
      peak_mb.push_back(ok && peak > 0 && device.is_cpu() ? (peak - before) / 1048576.0 : std::nan(""));
    }
    // Time: interleaved rounds, alternating who goes first.
    std::vector<std::vector<double>> seconds(kinds);
    const double start = now_seconds();
    int rounds = 0;
    while (rounds < c.min_rounds || now_seconds() - start < c.min_seconds) {
      for (size_t k = 0; k < kinds; ++k) {
        const size_t i = (k + rounds) % kinds;
        const double t0 = now_seconds();
        train_step(trainers[i], b, device, bf16);
        seconds[i].push_back(now_seconds() - t0);
      }
      ++rounds;
      if (progress)
        *progress << "\r[bench train] " << N << " tokens: round " << rounds << ", aaren " << std::fixed
                  << std::setprecision(1) << 1e3 * median(seconds[0]) << " ms, transformer " << 1e3 * median(seconds[1])
                  << " ms   " << std::flush;
    }
    if (progress) *progress << "\n";
    const double aaren = 1e3 * median(seconds[0]), transformer = 1e3 * median(seconds[1]);
    table.add_row(
        {N, T, c.batch, aaren, transformer, transformer / aaren, peak_mb[0], peak_mb[1], static_cast<int64_t>(rounds)});
  }
  return table;
}

std::vector<std::string> data_parallel_train_columns() {
  return {"nproc",
          "tokens",
          "batch",
          "aaren_ms",
          "transformer_ms",
          "aaren_updates_per_s",
          "transformer_updates_per_s",
          "aaren_samples_per_s",
          "transformer_samples_per_s",
          "aaren_allreduce_ms",
          "transformer_allreduce_ms",
          "rounds"};
}

Table run_data_parallel_train_bench(const TrainBenchConfig& c, std::ostream* progress) {
  c.validate();
  const auto launch = dist::launch_from_environment();
  const int world = launch.world_size;
  if (c.batch % world != 0) throw std::invalid_argument("--batch-size must be a multiple of WORLD_SIZE");
  at::set_num_threads(c.threads);
  torch::Device device = parse_device("--device", c.device);
  if (device.is_cuda() && c.device == "cuda") device = torch::Device(torch::kCUDA, launch.local_rank);
  std::unique_ptr<dist::ProcessGroup> group;
  if (world > 1)
    group =
        std::make_unique<dist::ProcessGroup>(launch, device.is_cuda() ? "nccl" : "gloo",
                                             std::chrono::milliseconds(static_cast<int64_t>(c.dist_timeout * 1000)));
  const bool bf16 = c.precision == "bf16";
  auto trainers = make_trainers(c, device);
  std::vector<std::unique_ptr<dist::GradientAllReduce>> reducers(trainers.size());
  if (group)
    for (auto& r : reducers) r = std::make_unique<dist::GradientAllReduce>(*group);
  const bool main_rank = launch.rank == 0;
  Table table;
  table.columns = data_parallel_train_columns();
  const int64_t local = c.batch / world;
  for (const int64_t N : c.lengths) {
    const Batch b = random_batch(c, local, N / 3, c.seed + N + 7919 * static_cast<uint64_t>(launch.rank), device);
    for (size_t i = 0; i < trainers.size(); ++i)
      train_step(trainers[i], b, device, bf16, reducers[i].get());  // warm-up
    std::vector<std::vector<double>> seconds(trainers.size()), allreduce(trainers.size());
    const double start = now_seconds();
    for (int rounds = 0;; ++rounds) {
      // Rank 0 decides whether to go on; every rank runs the same rounds.
      auto more = torch::tensor({rounds < c.min_rounds || now_seconds() - start < c.min_seconds ? 1 : 0},
                                torch::TensorOptions(torch::kInt).device(device));
      if (group) group->broadcast(more, 0);
      if (more.cpu().item<int>() == 0) break;
      for (size_t k = 0; k < trainers.size(); ++k) {
        const size_t i = (k + rounds) % trainers.size();
        const double t0 = now_seconds();
        allreduce[i].push_back(train_step(trainers[i], b, device, bf16, reducers[i].get()));
        seconds[i].push_back(now_seconds() - t0);
      }
      if (progress && main_rank)
        *progress << "\r[bench train] " << world << " rank(s), " << N << " tokens: round " << rounds + 1 << ", aaren "
                  << std::fixed << std::setprecision(1) << 1e3 * median(seconds[0]) << " ms, transformer "
                  << 1e3 * median(seconds[1]) << " ms   " << std::flush;
    }
    if (progress && main_rank) *progress << "\n";
    const double a = 1e3 * median(seconds[0]), t = 1e3 * median(seconds[1]);
    table.add_row({static_cast<int64_t>(world), N, c.batch, a, t, 1e3 / a, 1e3 / t, c.batch * 1e3 / a,
                   c.batch * 1e3 / t, 1e3 * median(allreduce[0]), 1e3 * median(allreduce[1]),
                   static_cast<int64_t>(seconds[0].size())});
  }
  return main_rank ? table : Table{table.columns, {}};
}

Table run_train_profile(const TrainBenchConfig& c, int updates, int top) {
  c.validate();
  at::set_num_threads(c.threads);
  const torch::Device device = parse_device("--device", c.device);
  const bool bf16 = c.precision == "bf16";
  auto trainers = make_trainers(c, device);
  const int64_t N = c.lengths.front();
  const Batch b = random_batch(c, c.batch, N / 3, c.seed + N, device);
  Table table;
  table.columns = {"backbone", "op", "calls_per_update", "self_ms_per_update", "share"};
  const char* names[] = {"aaren", "transformer"};
  namespace prof = torch::autograd::profiler;
  for (size_t i = 0; i < trainers.size(); ++i) {
    for (int w = 0; w < 2; ++w) train_step(trainers[i], b, device, bf16);  // warm-up
    prof::enableProfilerLegacy(torch::profiler::impl::ProfilerConfig(torch::profiler::impl::ProfilerState::CPU));
    for (int u = 0; u < updates; ++u) train_step(trainers[i], b, device, bf16);
    const auto lists = prof::disableProfilerLegacy();
    // Self time: a range's time less its children's, per thread (ranges nest).
    struct Open {
      std::string name;
      double start, children;
    };
    std::map<std::string, std::pair<double, int64_t>> self;  // name -> (us, calls)
    double total = 0;
    for (const auto& events : lists) {
      std::vector<Open> stack;
      for (const auto& e : events) {
        if (e.kind() == prof::EventKind::PushRange) {
          stack.push_back({e.name(), e.cpuUs(), 0});
        } else if (e.kind() == prof::EventKind::PopRange && !stack.empty()) {
          const auto open = stack.back();
          stack.pop_back();
          const double elapsed = e.cpuUs() - open.start;
          auto& entry = self[open.name];
          entry.first += elapsed - open.children, entry.second += 1;
          if (stack.empty())
            total += elapsed;
          else
            stack.back().children += elapsed;
        }
      }
    }
    std::vector<std::pair<std::string, std::pair<double, int64_t>>> rows(self.begin(), self.end());
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
    for (int r = 0; r < std::min<int>(top, static_cast<int>(rows.size())); ++r)
      table.add_row({std::string(names[i]), rows[r].first, static_cast<double>(rows[r].second.second) / updates,
                     rows[r].second.first / 1e3 / updates, rows[r].second.first / std::max(total, 1e-9)});
  }
  return table;
}

void write_train_plots(const Table& table, const std::string& dir) {
  base::Series aaren_t{"Aaren (scan)", {}, {}}, transformer_t{"Transformer (attention)", {}, {}};
  base::Series aaren_m{"Aaren (scan)", {}, {}}, transformer_m{"Transformer (attention)", {}, {}};
  for (const auto& row : table.rows) {
    const double n = as_number(row[0]);
    aaren_t.x.push_back(n), aaren_t.y.push_back(as_number(row[3]));
    transformer_t.x.push_back(n), transformer_t.y.push_back(as_number(row[4]));
    aaren_m.x.push_back(n), aaren_m.y.push_back(as_number(row[6]));
    transformer_m.x.push_back(n), transformer_m.y.push_back(as_number(row[7]));
  }
  base::write_svg(dir + "/train_time_vs_length.svg", {aaren_t, transformer_t},
                  {"Training step time against sequence length", "tokens per sequence", "ms per step", true, true});
  base::write_svg(
      dir + "/train_memory_vs_length.svg", {aaren_m, transformer_m},
      {"Training step peak memory against sequence length", "tokens per sequence", "peak RSS growth (MB)", true, true});
}

}  // namespace aaren::bench
