#include "bench/data_bench.h"

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <ostream>
#include <random>

#include "data/hdf5_io.h"
#include "data/trajectory_dataset.h"

namespace aaren::bench {

const std::vector<base::ConfigField<DataBenchConfig>>& DataBenchConfig::fields() {
  using C = DataBenchConfig;
  using base::field;
  static const std::vector<base::ConfigField<C>> table{
      field("dataset", &C::file, "load this D4RL/Minari file instead of generating one"),
      field("transitions", &C::transitions, "generated file: transitions"),
      field("obs-dim", &C::obs_dim, "generated file: observation width"),
      field("act-dim", &C::act_dim, "generated file: action width"),
      field("workdir", &C::workdir, "an existing folder for the generated file (a new name there, deleted afterwards)"),
      field("batch-size", &C::batch, "DT windows per batch"),
      field("context", &C::context, "DT context K (steps)"),
      field("episode-batch", &C::episode_batch, "whole episodes per batch"),
      field("seconds", &C::seconds, "duration of each rate measurement"),
      field("seed", &C::seed, "random seed"),
  };
  return table;
}

nlohmann::json DataBenchConfig::to_json() const { return base::fields_to_json(*this, fields()); }

namespace {

// Random transitions in episodes of 10..1000 steps: about one in five ends by
// termination, the rest at a timeout; the last may be partial.
data::Transitions synthetic(const DataBenchConfig& c) {
  data::Transitions t;
  t.size = c.transitions;
  t.obs_dim = c.obs_dim;
  t.act_dim = c.act_dim;
  std::mt19937_64 rng(c.seed);
  std::normal_distribution<float> normal;
  std::uniform_int_distribution<int64_t> length(10, 1000);
  t.observations.resize(t.size * t.obs_dim);
  t.actions.resize(t.size * t.act_dim);
  t.rewards.resize(t.size);
  for (auto& x : t.observations) x = normal(rng);
  for (auto& x : t.actions) x = std::tanh(normal(rng));
  for (auto& x : t.rewards) x = 1.0f + 0.1f * normal(rng);
  t.terminals.assign(t.size, 0);
  t.timeouts.assign(t.size, 0);
  t.has_timeouts = true;
  for (int64_t start = 0;;) {
    const int64_t end = start + length(rng) - 1;
    if (end >= t.size) break;
    (rng() % 5 == 0 ? t.terminals : t.timeouts)[end] = 1;
    start = end + 1;
  }
  t.metadata["made_by"] = "aaren bench data (synthetic)";
  return t;
}

// The generated file's name: one nothing in `workdir` holds (a user's file, or
// another benchmark's running at once, is never written over).
std::string unused_name_in(const std::string& workdir, uint64_t seed) {
  const auto stem = "aaren_bench_data_" + std::to_string(seed) + "." + std::to_string(::getpid());
  std::error_code ec;
  for (int k = 0;; ++k) {
    const auto path = std::filesystem::path(workdir) / (stem + (k ? "." + std::to_string(k) : "") + ".hdf5");
    if (!std::filesystem::exists(path, ec)) return path.string();
  }
}

struct GeneratedFile {
  std::string path;
  ~GeneratedFile() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove(path, ec);
  }
};

}  // namespace

Table run_data_bench(const DataBenchConfig& c, std::ostream* progress) {
  Table table;
  table.columns = {"measurement", "value", "unit", "detail"};
  std::string path = c.file;
  GeneratedFile made;  // removed however the benchmark ends
  if (path.empty()) {
    path = made.path = unused_name_in(c.workdir, c.seed);
    auto t = synthetic(c);
    const double t0 = now_seconds();
    data::write_d4rl(path, t);
    const double dt = now_seconds() - t0;
    table.add_row({std::string("write (gzip 4)"), dt, std::string("s"),
                   std::to_string(c.transitions) + " x " + std::to_string(c.obs_dim) + " obs, " +
                       std::to_string(std::filesystem::file_size(path) / 1000000) + " MB on disk"});
    if (progress) *progress << "[bench data] wrote " << path << " in " << dt << " s" << std::endl;
  }

  double t0 = now_seconds();
  const auto t = data::read_dataset(path);
  const double read_s = now_seconds() - t0;
  // What the commands pay: the same read in a child process (crash and stall
  // containment), its result piped back.
  t0 = now_seconds();
  const auto isolated = data::read_dataset_isolated(path);
  const double isolated_s = now_seconds() - t0;
  if (isolated.size != t.size || isolated.observations != t.observations)
    throw std::runtime_error(path + ": the isolated read differs from the direct read");
  t0 = now_seconds();
  const auto split = data::split_episodes(t);
  const data::TrajectoryDataset dataset(t, split);
  const double build_s = now_seconds() - t0;
  table.add_row({std::string("load: read HDF5"), read_s, std::string("s"), std::to_string(t.size) + " transitions"});
  table.add_row({std::string("load: read HDF5 in a child process"), isolated_s, std::string("s"),
                 "what the commands use; x" + std::to_string(isolated_s / std::max(read_s, 1e-9)).substr(0, 4) +
                     " the direct read"});
  table.add_row({std::string("load: episodes + dataset"), build_s, std::string("s"),
                 std::to_string(dataset.num_episodes()) + " episodes, returns-to-go, state mean/std"});
  table.add_row({std::string("load: total"), read_s + build_s, std::string("s"), std::string("target <= 2 s")});
  if (progress) *progress << "[bench data] loaded in " << read_s + build_s << " s" << std::endl;

  auto rate = [&](auto&& fn) {  // calls per second over c.seconds
    int64_t calls = 0;
    const double start = now_seconds();
    double elapsed = 0;
    do {
      fn();
      ++calls;
      elapsed = now_seconds() - start;
    } while (elapsed < c.seconds);
    return calls / elapsed;
  };
  data::WindowSampler windows(dataset, c.context, {}, c.seed);
  const double window_batches = rate([&] { windows.sample(c.batch); });
  table.add_row({std::string("DT windows"), window_batches * c.batch, std::string("windows/s"),
                 "B=" + std::to_string(c.batch) + ", K=" + std::to_string(c.context) + "; target >= 20000"});
  data::EpisodeSampler episodes(dataset, {}, c.seed);
  int64_t steps = 0, batches = 0;
  const double episode_batches = rate([&] {
    auto b = episodes.sample(c.episode_batch);
    steps += b.mask.sum().item<int64_t>();
    ++batches;
  });
  table.add_row({std::string("whole episodes"), episode_batches * c.episode_batch, std::string("episodes/s"),
                 "B=" + std::to_string(c.episode_batch) + ", padded to the longest (<= 1000 steps); " +
                     std::to_string(static_cast<int64_t>(episode_batches * steps / std::max<int64_t>(batches, 1))) +
                     " real steps/s"});
  return table;
}

}  // namespace aaren::bench
