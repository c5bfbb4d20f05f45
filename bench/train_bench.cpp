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
#include "base/config_fields.h"
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
  for (const auto& name : backbones) {
    try {
      base::parse_enum<BackboneKind>(name);
    } catch (const std::invalid_argument& e) {
      fail(std::string("--backbones: ") + e.what());
    }
  }
}

std::vector<std::string> train_bench_backbones(const TrainBenchConfig& config) {
  if (!config.backbones.empty()) return config.backbones;
  std::vector<std::string> names;
  for (const auto& d : backbone_descriptors()) names.push_back(d.name);
  return names;
}

const std::vector<base::ConfigField<TrainBenchConfig>>& TrainBenchConfig::fields() {
  using C = TrainBenchConfig;
  using base::field;
  static const std::vector<base::ConfigField<C>> table{
      field("lengths", &C::lengths, "tokens per sequence (multiples of 3)"),
      field("batch-size", &C::batch, "sequences per step"),
      field("embed-dim", &C::d_model, "model width"),
      field("layers", &C::n_layers, "blocks"),
      field("heads", &C::n_heads, "heads"),
      field("state-dim", &C::state_dim, "observation width (Hopper's: 11)", {"", false, std::nullopt, false, false}),
      field("act-dim", &C::act_dim, "action width (Hopper's: 3)", {"", false, std::nullopt, false, false}),
      field("threads", &C::threads, "LibTorch threads"),
      field("min-rounds", &C::min_rounds, "interleaved rounds, at least"),
      field("min-seconds", &C::min_seconds, "keep adding rounds until a length has run this long"),
      field("seed", &C::seed, "random seed"),
      field("backbones", &C::backbones,
            "backbones to measure, the ratios against the first (default: every one, " + backbone_names(", ") + ")"),
      field("device", &C::device, "cpu | cuda | cuda:N (a CUDA LibTorch)"),
      field("precision", &C::precision, "fp32 | bf16 (mixed precision; the scan state stays fp32)"),
      field("nproc", &C::nproc,
            "data-parallel: measure with these numbers of ranks (e.g. 1 2; Gloo on the CPU): updates and samples per "
            "second and the all-reduce's share; --batch-size is the global batch"),
      field("dist-timeout", &C::dist_timeout, "seconds the ranks wait for each other"),
  };
  return table;
}

nlohmann::json TrainBenchConfig::to_json() const {
  auto j = base::fields_to_json(*this, fields());
  j["backbones"] = train_bench_backbones(*this);  // resolved: every registered one when none was named
  return j;
}

namespace {

struct Trainer {
  std::string name;  // the backbone's
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
  for (const auto& name : train_bench_backbones(c)) {
    torch::manual_seed(c.seed);
    DecisionConfig dc;
    dc.state_dim = c.state_dim;
    dc.act_dim = c.act_dim;
    dc.backbone.kind = base::parse_enum<BackboneKind>(name);
    dc.backbone.d_model = c.d_model;
    dc.backbone.n_layers = c.n_layers;
    dc.backbone.n_heads = c.n_heads;
    Trainer t{name, DecisionPolicy(dc), nullptr};
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

namespace {
// b1_<suffix>, b2_<suffix>, ... for the trainers' backbones.
std::vector<std::string> per_backbone(const std::vector<Trainer>& trainers, const std::string& suffix) {
  std::vector<std::string> names;
  for (const auto& t : trainers) names.push_back(t.name + suffix);
  return names;
}

std::vector<std::string> train_columns(const std::vector<Trainer>& trainers) {
  std::vector<std::string> columns{"tokens", "env_steps", "batch"};
  for (const auto& c : per_backbone(trainers, "_ms")) columns.push_back(c);
  for (size_t i = 1; i < trainers.size(); ++i) columns.push_back(trainers[i].name + "_over_" + trainers[0].name);
  for (const auto& c : per_backbone(trainers, "_peak_mb")) columns.push_back(c);
  columns.push_back("rounds");
  return columns;
}

// Peak memory of one step of each backbone alone, from a trimmed heap (MB; NaN on a GPU).
std::vector<double> peak_step_mb(std::vector<Trainer>& trainers, const Batch& b, const torch::Device& device,
                                 bool bf16) {
  std::vector<double> peak_mb;
  for (auto& t : trainers) {
    malloc_trim(0);
    const int64_t before = resident_bytes();
    const bool ok = reset_peak_resident();
    train_step(t, b, device, bf16);
    const int64_t peak = peak_resident_bytes();
    peak_mb.push_back(ok && peak > 0 && device.is_cpu() ? (peak - before) / 1048576.0 : std::nan(""));
  }
  return peak_mb;
}

void show_round(std::ostream* progress, const std::string& what, int rounds, const std::vector<Trainer>& trainers,
                const std::vector<std::vector<double>>& seconds) {
  if (!progress) return;
  *progress << "\r[bench train] " << what << ": round " << rounds << std::fixed << std::setprecision(1);
  for (size_t i = 0; i < trainers.size(); ++i)
    *progress << ", " << trainers[i].name << " " << 1e3 * median(seconds[i]) << " ms";
  *progress << "   " << std::flush;
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
  table.columns = train_columns(trainers);
  for (const int64_t N : c.lengths) {
    const int64_t T = N / 3;
    const Batch b = random_batch(c, c.batch, T, c.seed + N, device);
    const auto peak_mb = peak_step_mb(trainers, b, device, bf16);
    // Time: interleaved rounds, rotating who goes first.
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
      show_round(progress, std::to_string(N) + " tokens", rounds, trainers, seconds);
    }
    if (progress) *progress << "\n";
    std::vector<Cell> row{N, T, c.batch};
    for (const auto& s : seconds) row.push_back(1e3 * median(s));
    for (size_t i = 1; i < kinds; ++i) row.push_back(median(seconds[i]) / median(seconds[0]));
    for (const double mb : peak_mb) row.push_back(mb);
    row.push_back(static_cast<int64_t>(rounds));
    table.add_row(row);
  }
  return table;
}

std::vector<std::string> data_parallel_train_columns(const TrainBenchConfig& c) {
  std::vector<std::string> columns{"nproc", "tokens", "batch"};
  for (const char* suffix : {"_ms", "_updates_per_s", "_samples_per_s", "_allreduce_ms"})
    for (const auto& name : train_bench_backbones(c)) columns.push_back(name + suffix);
  columns.push_back("rounds");
  return columns;
}

Table run_data_parallel_train_bench(const TrainBenchConfig& c, std::ostream* progress) {
  c.validate();
  const auto launch = dist::launch_from_environment();
  const int world = launch.world_size;
  if (c.batch % world != 0) throw std::invalid_argument("--batch-size must be a multiple of WORLD_SIZE");
  at::set_num_threads(c.threads);
  const torch::Device device = dist::rank_device(launch, c.device);
  std::unique_ptr<dist::ProcessGroup> group;
  if (world > 1)
    group =
        std::make_unique<dist::ProcessGroup>(launch, dist::collective_backend(device),
                                             std::chrono::milliseconds(static_cast<int64_t>(c.dist_timeout * 1000)));
  const bool bf16 = c.precision == "bf16";
  auto trainers = make_trainers(c, device);
  std::vector<std::unique_ptr<dist::GradientAllReduce>> reducers(trainers.size());
  if (group)
    for (auto& r : reducers) r = std::make_unique<dist::GradientAllReduce>(*group);
  const bool main_rank = launch.rank == 0;
  Table table;
  table.columns = data_parallel_train_columns(c);
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
      if (main_rank)
        show_round(progress, std::to_string(world) + " rank(s), " + std::to_string(N) + " tokens", rounds + 1, trainers,
                   seconds);
    }
    if (progress && main_rank) *progress << "\n";
    std::vector<Cell> row{static_cast<int64_t>(world), N, c.batch};
    for (const auto& s : seconds) row.push_back(1e3 * median(s));
    for (const auto& s : seconds) row.push_back(1.0 / median(s));
    for (const auto& s : seconds) row.push_back(c.batch / median(s));
    for (const auto& a : allreduce) row.push_back(1e3 * median(a));
    row.push_back(static_cast<int64_t>(seconds[0].size()));
    table.add_row(row);
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
      table.add_row({trainers[i].name, rows[r].first, static_cast<double>(rows[r].second.second) / updates,
                     rows[r].second.first / 1e3 / updates, rows[r].second.first / std::max(total, 1e-9)});
  }
  return table;
}

std::vector<std::string> train_plot_files() { return {"train_time_vs_length.svg", "train_memory_vs_length.svg"}; }

// One line per backbone whose b_ms (b_peak_mb) column the table has.
void write_train_plots(const Table& table, const std::string& dir) {
  std::vector<base::Series> time, memory;
  for (const auto& d : backbone_descriptors()) {
    const auto ms = std::find(table.columns.begin(), table.columns.end(), d.name + "_ms");
    const auto mb = std::find(table.columns.begin(), table.columns.end(), d.name + "_peak_mb");
    if (ms == table.columns.end() || mb == table.columns.end()) continue;
    base::Series t{d.name, {}, {}}, m{d.name, {}, {}};
    for (const auto& row : table.rows) {
      const double n = as_number(row[0]);
      t.x.push_back(n), t.y.push_back(as_number(row[ms - table.columns.begin()]));
      m.x.push_back(n), m.y.push_back(as_number(row[mb - table.columns.begin()]));
    }
    time.push_back(t), memory.push_back(m);
  }
  base::write_svg(dir + "/train_time_vs_length.svg", time,
                  {"Training step time against sequence length", "tokens per sequence", "ms per step", true, true});
  base::write_svg(
      dir + "/train_memory_vs_length.svg", memory,
      {"Training step peak memory against sequence length", "tokens per sequence", "peak RSS growth (MB)", true, true});
}

}  // namespace aaren::bench
