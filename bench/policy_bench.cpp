#include "bench/policy_bench.h"

#include <malloc.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <memory>
#include <ostream>
#include <random>
#include <stdexcept>

#include "agents/acting/acting.h"
#include "agents/acting/decision_rollout.h"
#include "agents/acting/lean_export.h"
#include "agents/checkpoint/checkpoint.h"
#include "base/svg_plot.h"
#include "envs/registry.h"

namespace aaren::bench {

int64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<int64_t>(sysconf(_SC_PAGESIZE));
}

void PolicyBenchConfig::validate() const {
  auto fail = [](const std::string& what) { throw std::invalid_argument(what); };
  if (d_model < 1 || n_layers < 1 || n_heads < 1 || d_model % n_heads != 0)
    fail("--embed-dim, --layers and --heads must be >= 1, and --heads must divide --embed-dim");
  if (context < 1) fail("--context must be >= 1");
  if (steps < 1) fail("--steps must be >= 1");
  if (repeats < 1) fail("--repeats must be >= 1");
  if (block < 1) fail("--block must be >= 1");
  if (sweep_tokens < 0) fail("--sweep-tokens must be >= 0");
  if (threads < 1) fail("--threads must be >= 1");
  if (batches.empty()) fail("--batch-size needs at least one size");
  for (auto b : batches)
    if (b < 1) fail("--batch-size sizes must be >= 1, got " + std::to_string(b));
  if (variants.empty()) fail("--variants needs at least one variant");
  if (tokens.empty()) fail("--tokens needs at least one layout");
  for (const auto& t : tokens)
    if (t != "interleaved" && t != "fused") fail("--tokens: unknown layout '" + t + "' (interleaved, fused)");
  std::string known;
  for (const auto& v : policy_variants()) known += (known.empty() ? "" : ", ") + v;
  for (const auto& v : variants)
    if (!parse_variant(v)) fail("--variants: unknown variant '" + v + "' (" + known + ")");
}

std::vector<std::string> policy_variants() {
  std::vector<std::string> names;
  for (const auto& d : backbone_descriptors()) {
    for (const auto mode : d.act_modes) {
      names.push_back(d.name + "-" + to_string(mode));
      if (mode == ActMode::kRecurrent && d.lean_runtime) names.push_back(d.name + "-lean");
    }
  }
  return names;
}

std::optional<PolicyVariant> parse_variant(const std::string& name) {
  for (const auto& d : backbone_descriptors()) {
    if (d.lean_runtime && name == d.name + "-lean") return PolicyVariant{d.kind, ActMode::kRecurrent, true};
    for (const auto mode : d.act_modes)
      if (name == d.name + "-" + to_string(mode)) return PolicyVariant{d.kind, mode, false};
  }
  return std::nullopt;
}

const std::vector<base::ConfigField<PolicyBenchConfig>>& PolicyBenchConfig::fields() {
  using C = PolicyBenchConfig;
  using base::field;
  static const std::vector<base::ConfigField<C>> table{
      field("checkpoint", &C::checkpoint, "take sizes, normalisation and weights from 'aaren train'"),
      field("env", &C::env, "observation and action sizes (no checkpoint)"),
      field("embed-dim", &C::d_model, "model width (no checkpoint)"),
      field("layers", &C::n_layers, "blocks (no checkpoint)"),
      field("heads", &C::n_heads, "heads (no checkpoint)"),
      field("context", &C::context, "K: window length in steps"),
      field("steps", &C::steps, "env steps per timed episode"),
      field("batch-size", &C::batches, "batch sizes"),
      field("repeats", &C::repeats, "timed episodes per batch size"),
      field("block", &C::block, "variants take turns every this many env steps (1: step by step, cold caches)"),
      field("sweep-tokens", &C::sweep_tokens,
            "batch-1 sweep up to this many tokens (0: none; -1: 10 x --steps, 10,000 at the default 1000)"),
      field("variants", &C::variants,
            "what to measure: <backbone>-<mode> ('aaren backbones' lists them) or <backbone>-lean"),
      field("tokens", &C::tokens, "token layouts: interleaved (DT, 3 per step), fused (1 per step)"),
      field("threads", &C::threads, "LibTorch threads"),
      field("seed", &C::seed, "random seed (weights and inputs)"),
  };
  return table;
}

nlohmann::json PolicyBenchConfig::to_json() const { return base::fields_to_json(*this, fields()); }

double measure_read_bandwidth(int64_t bytes, double seconds) {
  std::vector<float> buffer(std::max<int64_t>(bytes / 4, 64), 1.0f);
  float sink = 0;
  int64_t passes = 0;
  const double start = now_seconds();
  double elapsed = 0;
  do {
    // 64 independent sums (several SIMD registers): bound by loads, not by
    // the latency of one chain of adds.
    float acc[64] = {};
    const size_t n = buffer.size() / 64 * 64;
    for (size_t i = 0; i < n; i += 64)
      for (int k = 0; k < 64; ++k) acc[k] += buffer[i + k];
    for (float a : acc) sink += a;
    ++passes;
    elapsed = now_seconds() - start;
  } while (elapsed < seconds);
  if (sink == -1.0f) buffer[0] = 2.0f;  // keeps the sums alive
  return static_cast<double>(passes) * buffer.size() * sizeof(float) / elapsed;
}

namespace {

struct Variant {
  std::string name;  // "aaren-recurrent", ...; "/fused" appended for the fused layout
  std::string kind;  // the name without the layout
  int64_t tokens_per_step = 3;
  LoadedAgent agent;     // the weights (the checkpoint's or fresh), normaliser, return scale and target
  ActingOptions acting;  // runtime and mode; the batch is set per run
};

struct Models {
  std::vector<Variant> variants;
  StateNormalizer normalizer;
  double return_scale = 1000.0, target_return = 3600.0;
  int64_t obs_dim = 0, act_dim = 0;
};

// Both backbones at one size: the checkpoint's (its weights) and the other
// freshly initialised, or both fresh at the given model options.
Models build_models(const PolicyBenchConfig& c) {
  Models m;
  DecisionConfig dc;
  LoadedAgent trained;
  if (!c.checkpoint.empty()) {
    trained = load_checkpoint(c.checkpoint);  // throws std::runtime_error naming the file
    dc = trained.model->config();
    m.normalizer = trained.normalizer;
    m.return_scale = trained.config.return_scale;
    m.target_return = acting_target_return(trained);
  } else {
    const auto& spec = envs::env_spec(c.env);
    dc.state_dim = spec.obs_dim;
    dc.act_dim = spec.act_dim;
    dc.context = c.context;
    dc.backbone.d_model = c.d_model;
    dc.backbone.n_layers = c.n_layers;
    dc.backbone.n_heads = c.n_heads;
    m.normalizer = {torch::zeros({dc.state_dim}), torch::ones({dc.state_dim})};
    m.target_return = spec.dt_target_high;
  }
  m.obs_dim = dc.state_dim;
  m.act_dim = dc.act_dim;
  torch::manual_seed(c.seed);
  // The checkpoint's model where it has this backbone and layout, else fresh weights.
  auto agent_of = [&](BackboneKind kind, TokenLayout tokens) {
    LoadedAgent agent;
    if (trained.model && trained.model->config().backbone.kind == kind && trained.model->config().tokens == tokens) {
      agent.model = trained.model;
    } else {
      auto config = dc;
      config.backbone.kind = kind;
      config.tokens = tokens;
      agent.model = DecisionPolicy(config);
      agent.model->eval();
    }
    agent.normalizer = m.normalizer;
    agent.config.return_scale = m.return_scale;
    agent.config.target_return = m.target_return;
    agent.env = c.checkpoint.empty() ? c.env : trained.env;
    return agent;
  };
  for (const auto& layout : c.tokens)
    for (const auto& name : c.variants) {
      const auto tokens = base::parse_enum<TokenLayout>(layout);
      Variant v;
      v.kind = name;
      v.name = tokens == TokenLayout::kFused ? name + "/fused" : name;
      v.tokens_per_step = tokens_per_step(tokens);
      const auto spec = *parse_variant(name);
      v.agent = agent_of(spec.kind, tokens);
      v.acting.mode = spec.mode;
      if (spec.lean) {
        v.acting.runtime = Runtime::kLean;
        v.acting.lean_model = lean_model_of(v.agent, "(in memory)");  // converted once, outside the timing
      }
      m.variants.push_back(std::move(v));
    }
  return m;
}

std::unique_ptr<AgentPolicy> make_policy(const Models& m, const Variant& v, int64_t batch) {
  auto acting = v.acting;
  acting.num_envs = batch;
  acting.target_return = m.target_return;
  return make_agent_policy(v.agent, acting, v.name);
}

// Nearest-rank percentile of the samples (p in [0, 100]).
double percentile(std::vector<double> samples, double p) {
  std::sort(samples.begin(), samples.end());
  const auto rank = static_cast<size_t>(std::ceil(p / 100.0 * samples.size()));
  return samples[std::min(samples.size() - 1, rank == 0 ? 0 : rank - 1)];
}

// Synthetic observations for one env step of a batch: standard normal.
class Inputs {
 public:
  Inputs(int64_t batch, int64_t obs_dim, uint64_t seed) : obs_(batch * obs_dim), rewards_(batch, 1.0), rng_(seed) {}
  const std::vector<double>& next() {
    for (auto& x : obs_) x = normal_(rng_);
    return obs_;
  }
  const std::vector<double>& rewards() const { return rewards_; }

 private:
  std::vector<double> obs_, rewards_;
  std::mt19937_64 rng_;
  std::normal_distribution<double> normal_;
};

struct EpisodeTrace {
  std::vector<double> seconds;       // per env step
  std::vector<int64_t> state_bytes;  // after each env step
  std::vector<int64_t> rss_growth;   // after each env step, against before the policy was made
};

// One variant alone for `steps` env steps, with RSS read after every step.
EpisodeTrace run_alone(const Models& m, const Variant& v, int64_t batch, int64_t steps, uint64_t seed,
                       std::ostream* progress, const std::string& label) {
  malloc_trim(0);  // hand freed heap back, so growth is this variant's
  const int64_t rss0 = resident_bytes();
  EpisodeTrace trace;
  auto policy = make_policy(m, v, batch);
  Inputs inputs(batch, m.obs_dim, seed);
  std::vector<double> actions(batch * m.act_dim);
  const double start = now_seconds();
  double last_report = start;
  for (int64_t t = 0; t < steps; ++t) {
    const auto& obs = inputs.next();
    const double t0 = now_seconds();
    policy->act(obs, actions);
    policy->advance(inputs.rewards());
    const double t1 = now_seconds();
    trace.seconds.push_back(t1 - t0);
    trace.state_bytes.push_back(policy->state_bytes());
    trace.rss_growth.push_back(resident_bytes() - rss0);
    if (progress && (t1 - last_report > 1.0 || t + 1 == steps)) {
      last_report = t1;
      const double rate = (t + 1) / (t1 - start);
      *progress << "\r[bench policy] " << label << " " << v.name << ": step " << (t + 1) << "/" << steps << " ("
                << std::fixed << std::setprecision(0) << rate << " steps/s, ETA " << std::setprecision(1)
                << (steps - t - 1) / rate << " s)   " << std::flush;
    }
  }
  if (progress) *progress << "\n";
  return trace;
}

}  // namespace

namespace {
// Seconds per env step of each variant: seconds[variant][step] over the repeats.
using StepSeconds = std::vector<std::vector<std::vector<double>>>;

// Timing at one batch size: all variants on the same inputs, interleaved in
// blocks of `block` steps, rotating who goes first: noise on the machine hits
// every variant alike, while within a block each runs as a deployed policy
// does, its weights warm in the caches.
StepSeconds time_interleaved(const Models& m, const PolicyBenchConfig& c, int64_t batch, std::ostream* progress) {
  const int64_t V = static_cast<int64_t>(m.variants.size());
  StepSeconds seconds(V, std::vector<std::vector<double>>(c.steps));
  for (int64_t rep = 0; rep < c.repeats; ++rep) {
    std::vector<std::unique_ptr<AgentPolicy>> policies;
    for (const auto& v : m.variants) policies.push_back(make_policy(m, v, batch));
    // Every variant sees the same observations at step t.
    Inputs inputs(batch, m.obs_dim, c.seed + 1000 * rep + batch);
    std::vector<std::vector<double>> observations;
    for (int64_t t = 0; t < c.steps; ++t) observations.push_back(inputs.next());
    std::vector<double> actions(batch * m.act_dim);
    const double start = now_seconds();
    double last_report = start;
    for (int64_t t0 = 0; t0 < c.steps; t0 += c.block) {
      const int64_t t1 = std::min(c.steps, t0 + c.block);
      for (int64_t k = 0; k < V; ++k) {
        const int64_t i = (t0 / c.block + k) % V;
        for (int64_t t = t0; t < t1; ++t) {
          const double begin = now_seconds();
          policies[i]->act(observations[t], actions);
          policies[i]->advance(inputs.rewards());
          seconds[i][t].push_back(now_seconds() - begin);
        }
      }
      const double now = now_seconds();
      if (progress && (now - last_report > 1.0 || t1 == c.steps)) {
        last_report = now;
        const double done = rep * c.steps + t1, total = c.repeats * c.steps;
        const double rate = t1 / (now - start);
        *progress << "\r[bench policy] timing, batch " << batch << ", episode " << (rep + 1) << "/" << c.repeats
                  << ": step " << t1 << "/" << c.steps << " (" << std::fixed << std::setprecision(0) << rate
                  << " steps/s, ETA " << std::setprecision(1) << (total - done) / rate << " s)   " << std::flush;
      }
    }
    if (progress) *progress << "\n";
  }
  return seconds;
}

// The summary and per-step rows of one batch size, from its timing and its memory traces.
void add_batch_rows(PolicyBenchResult& r, const Models& m, const PolicyBenchConfig& c, int64_t batch,
                    const StepSeconds& seconds, const std::vector<EpisodeTrace>& traces) {
  const int64_t V = static_cast<int64_t>(m.variants.size());
  std::vector<double> medians(V);
  for (int64_t i = 0; i < V; ++i) {
    std::vector<double> all;
    for (const auto& s : seconds[i]) all.insert(all.end(), s.begin(), s.end());
    medians[i] = median(all) * 1e6;
  }
  double window = std::nan("");
  for (int64_t i = 0; i < V; ++i)
    if (m.variants[i].name == "transformer-window") window = medians[i];  // DT's way, the baseline
  if (std::isnan(window))
    for (int64_t i = 0; i < V; ++i)
      if (m.variants[i].kind == "transformer-window") window = medians[i];
  for (int64_t i = 0; i < V; ++i) {
    std::vector<double> all;
    double cumulative = 0;
    for (int64_t t = 0; t < c.steps; ++t) {
      all.insert(all.end(), seconds[i][t].begin(), seconds[i][t].end());
      const double step_us = median(seconds[i][t]) * 1e6;
      cumulative += step_us;
      r.steps.add_row({m.variants[i].name, batch, t + 1, (t + 1) * m.variants[i].tokens_per_step, step_us, cumulative,
                       traces[i].state_bytes[t], traces[i].rss_growth[t]});
    }
    double mean = 0;
    for (double s : all) mean += s / all.size();
    const auto& tr = traces[i];
    r.summary.add_row({m.variants[i].name, batch, c.steps, medians[i], percentile(all, 99) * 1e6, mean * 1e6,
                       medians[i] / batch, window / medians[i], tr.state_bytes.front(), tr.state_bytes.back(),
                       tr.rss_growth.back(), *std::max_element(tr.rss_growth.begin(), tr.rss_growth.end())});
  }
}

// Batch 1, each variant alone, until sweep_tokens tokens: per-step rows, and
// at each of a few token counts the median over the last 10% of steps before it.
void run_sweep(PolicyBenchResult& r, const Models& m, const PolicyBenchConfig& c, std::ostream* progress) {
  r.sweep.columns = {"variant", "step", "tokens", "us", "state_bytes", "rss_growth_bytes"};
  r.sweep_summary.columns = {"variant", "tokens", "median_us_per_step", "state_bytes", "rss_growth_bytes"};
  if (c.sweep_tokens <= 0) return;
  for (const auto& v : m.variants) {
    const int64_t per_step = v.tokens_per_step, steps = (c.sweep_tokens + per_step - 1) / per_step;
    const auto tr =
        run_alone(m, v, 1, steps, c.seed + 7, progress, "sweep to " + std::to_string(c.sweep_tokens) + " tokens");
    for (int64_t t = 0; t < steps; ++t)
      r.sweep.add_row({v.name, t + 1, (t + 1) * per_step, tr.seconds[t] * 1e6, tr.state_bytes[t], tr.rss_growth[t]});
    for (int64_t tokens : {30, 100, 300, 1000, 3000, 10000, 30000, 100000}) {
      if (tokens > steps * per_step) break;
      const int64_t end = tokens / per_step, begin = std::min(end - 1, end - std::max<int64_t>(1, end / 10));
      std::vector<double> window(tr.seconds.begin() + begin, tr.seconds.begin() + end);
      r.sweep_summary.add_row(
          {v.name, end * per_step, median(window) * 1e6, tr.state_bytes[end - 1], tr.rss_growth[end - 1]});
    }
  }
}
}  // namespace

PolicyBenchResult run_policy_bench(const PolicyBenchConfig& c, std::ostream* progress) {
  c.validate();
  at::set_num_threads(c.threads);
  const auto m = build_models(c);
  PolicyBenchResult r;
  for (const auto& v : m.variants)
    if (v.acting.lean_model) {
      const int64_t bytes = v.acting.lean_model->bytes_read_per_step();
      const double bandwidth = measure_read_bandwidth(bytes);
      r.floor = {{"weight_bytes_per_env_step", bytes},
                 {"read_bandwidth_gb_per_s", bandwidth / 1e9},
                 {"floor_us_per_env_step", 1e6 * bytes / bandwidth}};
    }
  r.summary.columns = {"variant",
                       "batch",
                       "steps",
                       "median_us_per_step",
                       "p99_us_per_step",
                       "mean_us_per_step",
                       "median_us_per_env_step",
                       "window_over_variant",
                       "state_bytes_first",
                       "state_bytes_last",
                       "rss_growth_bytes_last",
                       "rss_growth_bytes_peak"};
  r.steps.columns = {"variant",   "batch",         "step",        "tokens",
                     "median_us", "cumulative_us", "state_bytes", "rss_growth_bytes"};
  for (const int64_t batch : c.batches) {
    const auto seconds = time_interleaved(m, c, batch, progress);
    std::vector<EpisodeTrace> traces;  // memory: each variant alone
    for (const auto& v : m.variants)
      traces.push_back(
          run_alone(m, v, batch, c.steps, c.seed + batch, progress, "memory, batch " + std::to_string(batch)));
    add_batch_rows(r, m, c, batch, seconds, traces);
  }
  run_sweep(r, m, c, progress);
  return r;
}

namespace {
// At most `max_points` points per series: the median y of each run of
// consecutive points (at the run's last x). Keeps the SVGs small and the
// per-step noise out of the lines.
std::vector<base::Series> thinned(std::vector<base::Series> all, size_t max_points = 400) {
  for (auto& s : all) {
    if (s.x.size() <= max_points) continue;
    const size_t bucket = (s.x.size() + max_points - 1) / max_points;
    base::Series t{s.name, {}, {}};
    for (size_t i = 0; i < s.x.size(); i += bucket) {
      const size_t end = std::min(s.x.size(), i + bucket);
      t.x.push_back(s.x[end - 1]);
      t.y.push_back(median(std::vector<double>(s.y.begin() + i, s.y.begin() + end)));
    }
    s = std::move(t);
  }
  return all;
}
}  // namespace

std::vector<std::string> policy_plot_files() {
  return {"memory_vs_timestep.svg", "cumulative_time_vs_timestep.svg", "memory_vs_tokens.svg", "rss_vs_tokens.svg",
          "latency_vs_tokens.svg"};
}

void write_policy_plots(const PolicyBenchResult& r, const std::string& dir) {
  // Columns by name, rows filtered by variant (and batch).
  auto column = [](const Table& t, const std::string& name) {
    return static_cast<size_t>(std::find(t.columns.begin(), t.columns.end(), name) - t.columns.begin());
  };
  auto series = [&](const Table& t, const std::string& x, const std::string& y, int64_t batch, double scale = 1) {
    std::vector<base::Series> out;
    const auto cv = column(t, "variant"), cb = column(t, "batch"), cx = column(t, x), cy = column(t, y);
    for (const auto& row : t.rows) {
      if (cb < t.columns.size() && as_number(row[cb]) != batch) continue;
      const auto& name = std::get<std::string>(row[cv]);
      if (out.empty() || out.back().name != name) out.push_back({name, {}, {}});
      out.back().x.push_back(as_number(row[cx]));
      out.back().y.push_back(scale * as_number(row[cy]));
    }
    return thinned(std::move(out));
  };
  const int64_t batch =
      r.steps.rows.empty() ? 1 : static_cast<int64_t>(as_number(r.steps.rows.front()[column(r.steps, "batch")]));
  using base::AxisUnit;
  const std::string at_batch = " (batch " + std::to_string(batch) + ")";
  base::write_svg(dir + "/memory_vs_timestep.svg", series(r.steps, "step", "state_bytes", batch),
                  {"Policy state" + at_batch, "env step", "state kept between steps", false, true, AxisUnit::kNumber,
                   AxisUnit::kBytes});
  base::write_svg(dir + "/cumulative_time_vs_timestep.svg", series(r.steps, "step", "cumulative_us", batch, 1e-3),
                  {"Cumulative policy time" + at_batch + ", median over episodes", "env step", "cumulative time (ms)"});
  if (r.sweep.rows.empty()) return;
  base::write_svg(dir + "/memory_vs_tokens.svg", series(r.sweep, "tokens", "state_bytes", 1),
                  {"Policy state against tokens seen (batch 1)", "tokens seen", "state kept between steps", true, true,
                   AxisUnit::kNumber, AxisUnit::kBytes});
  base::write_svg(dir + "/rss_vs_tokens.svg", series(r.sweep, "tokens", "rss_growth_bytes", 1),
                  {"Process RSS growth against tokens seen (batch 1)", "tokens seen", "RSS growth", false, false,
                   AxisUnit::kNumber, AxisUnit::kBytes});
  base::write_svg(dir + "/latency_vs_tokens.svg", series(r.sweep, "tokens", "us", 1),
                  {"Time per env step against tokens seen (batch 1)", "tokens seen", "µs per env step", true, true});
}

}  // namespace aaren::bench
