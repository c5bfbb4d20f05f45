#include "agents/training/decision_trainer.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "agents/acting/acting.h"
#include "agents/checkpoint/checkpoint.h"
#include "agents/models/device.h"
#include "agents/training/action_loss.h"
#include "agents/training/distributed.h"
#include "agents/training/graph_step.h"
#include "agents/training/training_run.h"
#include "base/atomic_file.h"
#include "base/clock.h"
#include "base/csv_log.h"
#include "base/file_hash.h"
#include "base/numbers.h"
#include "base/run_history.h"
#include "data/hdf5_io.h"
#include "data/trajectory_dataset.h"
#include "envs/d4rl_scores.h"

namespace aaren {

namespace {

// Lock-free on every platform we build for, so a signal handler may set it.
std::atomic<int> g_stop_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "request_training_stop must be async-signal-safe");

data::SequenceBatch to_device(const data::SequenceBatch& b, const torch::Device& device) {
  if (device.is_cpu()) return b;
  return {b.states.to(device),        b.actions.to(device),   b.rewards.to(device),
          b.returns_to_go.to(device), b.timesteps.to(device), b.mask.to(device)};
}

}  // namespace

// The batch regimes live in a named namespace, not the anonymous one:
// DecisionTrainer::Run (external linkage) holds them, and a class may not
// hold members whose types have internal linkage (GCC's -Wsubobject-linkage).
namespace batch_regimes {

struct UpdateLoss {
  double loss = 0;
  int64_t steps = 0;         // real env steps in the batch
  double gradient_norm = 0;  // before clipping (eager updates; 0 where the step ran in a CUDA graph)
};

// How one update's batch is drawn and its gradient accumulated: the two
// ways a backbone trains, each with its own sampler.
class BatchRegime {
 public:
  virtual ~BatchRegime() = default;
  virtual UpdateLoss accumulate_gradients(DecisionPolicy& model, const torch::Device& device, bool bf16) = 0;
  virtual std::string rng_state() const = 0;
  virtual void set_rng_state(const std::string& state) = 0;
};

// DT's: `batch` K-step windows, each from an empty state, in one pass.
class WindowRegime : public BatchRegime {
 public:
  WindowRegime(const data::TrajectoryDataset& data, const TrainConfig& c, const data::BatchOptions& options, int rank)
      : sampler_(data, c.context, options, c.seed),
        batch_(c.batch_size),
        local_(c.batch_size / c.nproc),
        first_(rank * local_),
        act_dim_(data.act_dim()) {}
  UpdateLoss accumulate_gradients(DecisionPolicy& model, const torch::Device& device, bool bf16) override {
    return accumulate_on(model, to_device(next_batch(), device), bf16);
  }
  // This rank's next batch (on the host).
  data::SequenceBatch next_batch() { return sampler_.sample(batch_, first_, local_); }
  UpdateLoss accumulate_on(DecisionPolicy& model, const data::SequenceBatch& batch, bool bf16) const {
    const int64_t steps = batch.mask.sum().item<int64_t>();
    const auto loss = error_sum(model, batch, bf16) / static_cast<double>(steps * act_dim_);
    loss.backward();
    return {loss.item<double>(), steps};
  }
  // The same loss with no value read back to the host (for a CUDA graph): {loss, real steps}.
  std::pair<torch::Tensor, torch::Tensor> loss_on_device(DecisionPolicy& model,
                                                         const data::SequenceBatch& batch) const {
    const auto steps = batch.mask.sum();
    return {error_sum(model, batch, false) / (steps * act_dim_).to(torch::kFloat), steps};
  }
  std::string rng_state() const override { return sampler_.rng_state(); }
  void set_rng_state(const std::string& s) override { sampler_.set_rng_state(s); }

 private:
  // The squared error summed over the real steps.
  static torch::Tensor error_sum(DecisionPolicy& model, const data::SequenceBatch& batch, bool bf16) {
    torch::Tensor pred;
    {
      const AutocastScope amp(bf16, batch.states.device());
      pred = model->forward(batch.states, batch.actions, batch.returns_to_go, batch.timesteps, batch.mask);
    }
    return masked_mse_sum(pred, batch.actions, batch.mask);
  }
  data::WindowSampler sampler_;
  int64_t batch_, local_, first_, act_dim_;  // the global batch; this rank's slice of it
};

// Aaren's: whole episodes from their first step, as the recurrent policy
// sees them, in chunks with the scan state (and, fused, the previous action)
// carried across chunk boundaries and gradients cut there.
class EpisodeRegime : public BatchRegime {
 public:
  EpisodeRegime(const data::TrajectoryDataset& data, const TrainConfig& c, const data::BatchOptions& options, int rank)
      : sampler_(data, options, c.seed),
        batch_(c.aaren_batch),
        local_(c.aaren_batch / c.nproc),
        first_(rank * local_),
        chunk_(c.chunk_steps),
        act_dim_(data.act_dim()) {}
  UpdateLoss accumulate_gradients(DecisionPolicy& model, const torch::Device& device, bool bf16) override {
    const auto batch = to_device(sampler_.sample(batch_, first_, local_), device);
    UpdateLoss out;
    out.steps = batch.mask.sum().item<int64_t>();
    const double count = static_cast<double>(out.steps * act_dim_);
    for_each_episode_chunk(model, batch, chunk_, device, bf16, [&](const torch::Tensor& chunk_sse) {
      const auto loss = chunk_sse / count;
      loss.backward();
      out.loss += loss.item<double>();
    });
    return out;
  }
  std::string rng_state() const override { return sampler_.rng_state(); }
  void set_rng_state(const std::string& s) override { sampler_.set_rng_state(s); }

 private:
  data::EpisodeSampler sampler_;
  int64_t batch_, local_, first_, chunk_, act_dim_;
};

// Every rank draws the global batch from the same generator and keeps its
// slice: W ranks see exactly what one process with the global batch sees.
std::unique_ptr<BatchRegime> make_regime(const data::TrajectoryDataset& data, const TrainConfig& c, int rank) {
  data::BatchOptions options;
  options.return_scale = c.return_scale;
  options.max_timestep = c.max_ep_len;
  if (c.trains_on_episodes()) return std::make_unique<EpisodeRegime>(data, c, options, rank);
  return std::make_unique<WindowRegime>(data, c, options, rank);
}

}  // namespace batch_regimes

using batch_regimes::BatchRegime;
using batch_regimes::make_regime;
using batch_regimes::UpdateLoss;
using batch_regimes::WindowRegime;

namespace {

// The `seconds` column of train_log.csv at `update` (0 when it is not there):
// a resumed run's clock continues from it.
double logged_seconds(const std::string& log_path, int64_t update) {
  std::ifstream in(log_path);
  const std::string prefix = std::to_string(update) + ",";
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) != 0) continue;
    std::vector<std::string> cells;
    std::istringstream row(line);
    for (std::string cell; std::getline(row, cell, ',');) cells.push_back(cell);
    double seconds = 0;
    if (cells.size() > 3 && base::parse_real(cells[3], seconds)) return seconds;
  }
  return 0.0;
}

// A loss or a gradient that is not finite would poison every parameter at the optimiser's
// step (and AdamW's moments from then on). An eager update finds it in the gradient's norm
// and does not step; a CUDA graph steps before its loss is read, so there the model of that
// update is poisoned. A step of finite loss and gradient can still carry the weights past
// float's range (a huge --lr), so they are checked before every checkpoint and evaluation.
// Either way the run stops at once: no checkpoint or evaluation of that model is made.
// The cause is the data (values too large for float arithmetic) or the step size, so both
// are named. What is kept: the last periodic checkpoint, else the one a resume started from.
[[noreturn]] void stop_diverged(const TrainConfig& c, int64_t start_update, int64_t update, const std::string& what);

// Which checkpoint a run that stops at `update` leaves to resume from. `resumed_replaced`: the
// checkpoint it resumed from was this folder's checkpoint.pt, since replaced by the final one.
std::string kept_checkpoint(const TrainConfig& c, int64_t start_update, int64_t update, bool resumed_replaced = false) {
  std::string kept = "no checkpoint of this run is kept";
  if (start_update > 0 && resumed_replaced)
    kept += " (the one it resumed from, " + c.resume + ", was replaced by its final one)";
  else if (start_update > 0)
    kept = "the checkpoint it resumed from, " + c.resume + ", holds update " + std::to_string(start_update);
  for (const auto& [at, path] : periodic_checkpoints(c.out_dir))
    if (at < update && at > start_update)
      kept = "its last checkpoint, " + path + ", holds update " + std::to_string(at);
  return kept;
}

void stop_diverged(const TrainConfig& c, int64_t start_update, int64_t update, const std::string& what) {
  throw TrainingDiverged(what + ": the data (" + c.dataset +
                         ") hold values too large for float training, or --lr is too large; the run stops here and " +
                         kept_checkpoint(c, start_update, update));
}

// "" when the update's loss and gradient are finite, else what is not.
std::string non_finite_step(int64_t update, double loss, double gradient_norm) {
  auto word = [](double v) { return std::string(std::isnan(v) ? "NaN" : "inf"); };
  if (!std::isfinite(loss)) return "the loss at update " + std::to_string(update) + " is " + word(loss);
  if (!std::isfinite(gradient_norm))
    return "the gradient's norm at update " + std::to_string(update) + " is " + word(gradient_norm) + " (its loss " +
           std::to_string(loss) + ")";
  return "";
}

}  // namespace

struct DecisionTrainer::Run {
  TrainConfig c;
  std::optional<LoadedAgent> resumed;
  data::EpisodeData data;
  std::unique_ptr<data::TrajectoryDataset> dataset;
  LoadedAgent agent;  // the model being trained, its normaliser, config and env
  torch::Device device{torch::kCPU};
  std::unique_ptr<torch::optim::AdamW> optimizer;
  std::unique_ptr<BatchRegime> regime;
  int64_t start_update = 0;
  double seconds_before = 0;  // train_log.csv's clock at start_update (a resumed run's continues)
  std::ofstream log, eval_log;
  TrainResult result;
  nlohmann::json provenance;
  // Data-parallel: this process's rank; the group and the gradient all-reduce
  // when there are several. Rank 0 alone writes files and evaluates.
  dist::LaunchInfo launch;
  std::unique_ptr<dist::ProcessGroup> group;
  std::unique_ptr<dist::GradientAllReduce> reducer;
  std::vector<torch::Tensor> parameters;
  // --cuda-graphs: the captured step, after a few eager updates on its stream.
  std::unique_ptr<GraphedStep> graphed;
  WindowRegime* windows = nullptr;  // `regime`, whose batches the graph takes
  int eager_before_capture = 3;

  bool writes_files() const { return launch.rank == 0; }
  void prepare(const TrainConfig& given, const std::set<std::string>& flags);
  // resolve_training_run; on failure with several ranks, the group is joined and left.
  ResolvedTrainingRun resolve_with_peers(const TrainConfig& given, const std::set<std::string>& flags);
  void write_config();
  nlohmann::json earlier_provenance() const;
  nlohmann::json run_history(const nlohmann::json& before) const;
  void join_group();
  void build_model();
  void restore_training_state();
  void open_logs();
  template <class Fn>
  void on_cpu(const Fn& fn);
  void checkpoint(const std::string& path, int64_t update);
  void periodic_checkpoint(int64_t update);
  void require_finite_weights(int64_t update) const;
  std::vector<EvalResult> evaluate(int64_t update);
  [[noreturn]] void stop_diverged_in_evaluation(int64_t update, double target, const std::string& what);
  // One update; `asked`: the signal this rank was asked to stop by, or 0.
  // Returns the loss and the signal the run stops by after it, or 0 (every
  // rank agrees on both).
  std::pair<UpdateLoss, int> update(int64_t update, double lr, int asked);
  template <class Accumulate>
  UpdateLoss eager_step(double lr, const Accumulate& accumulate, int& asked);
  UpdateLoss graphed_update(double lr);
};

// Resolution first, with no side effect (training_run.h); then the group,
// the folder, the model and the logs. A rank whose resolution fails still
// joins its group before it stops, so its peers end at their first
// collective rather than wait at the rendezvous for --dist-timeout.
void DecisionTrainer::Run::prepare(const TrainConfig& given, const std::set<std::string>& flags) {
  launch = dist::launch_from_environment();
  auto resolved = resolve_with_peers(given, flags);
  c = std::move(resolved.config);
  resumed = std::move(resolved.resumed);
  data = std::move(resolved.data);
  dataset = std::move(resolved.dataset);
  set_cpu_threads(c.threads);
  join_group();
  if (writes_files()) {
    std::filesystem::create_directories(c.out_dir);
    base::remove_stale_temp_files(c.out_dir);  // checkpoint_N.pt.aaren-tmp.<pid> of a killed run
  }
  build_model();
  restore_training_state();
  result.dataset_return_mean = data.split.mean_return();
  if (!writes_files()) return;
  write_config();
  open_logs();
}

ResolvedTrainingRun DecisionTrainer::Run::resolve_with_peers(const TrainConfig& given,
                                                             const std::set<std::string>& flags) {
  try {
    return resolve_training_run(given, flags, launch.world_size,
                                [](const std::string& line) { std::cerr << line << "\n"; });
  } catch (...) {
    if (launch.world_size > 1) {
      try {
        c = given;
        join_group();  // the group as given: it exists only to be left at once
      } catch (...) {  // the error to report is resolution's
      }
    }
    throw;
  }
}

// The resolved run, next to its outputs (on resume: the run as it continues),
// and what ran it: the first command and start time, then one entry per
// resume (its command, start and the checkpoint it continued), and the
// dataset by path, size and SHA-256.
void DecisionTrainer::Run::write_config() {
  auto j = c.to_json();
  if (!provenance.is_null()) {
    // The threads it runs with, set since the record was made (set_cpu_threads in prepare).
    if (provenance.contains("machine")) provenance["machine"]["torch_threads"] = at::get_num_threads();
    j["provenance"] = run_history(earlier_provenance());
  }
  base::write_file_atomically(c.out_dir + "/config.json", j.dump(2) + "\n");
}

namespace {
// The arrays' checksum beside the file's (provenance.dataset.arrays_sha256): the file's
// SHA-256 changes whenever a file is written again (HDF5 metadata, creation times), the
// arrays' only when the data do, so runs on two machines can be shown to have trained on
// the same data (docs/datasets/matched/checksums.txt holds the same checksum). Taken from
// the record made earlier while the file is unchanged; absent for a Minari dataset.
void record_arrays_checksum(nlohmann::json& dataset, const nlohmann::json& known, const std::string& path) {
  if (dataset.value("sha256", nlohmann::json()).is_null()) return;
  if (known.is_object() && known.value("sha256", nlohmann::json()) == dataset.at("sha256") &&
      known.contains("arrays_sha256")) {
    dataset["arrays_sha256"] = known.at("arrays_sha256");
    return;
  }
  try {
    dataset["arrays_sha256"] = data::d4rl_arrays_sha256(path);
  } catch (const data::DataError&) {  // not the D4RL layout: the file's checksum stands alone
  }
}
}  // namespace

nlohmann::json DecisionTrainer::Run::earlier_provenance() const {
  if (start_update == 0) return nullptr;
  return base::recorded_provenance((std::filesystem::path(c.resume).parent_path() / "config.json").string());
}

// before: the provenance of the run this one continues (null for a new run).
nlohmann::json DecisionTrainer::Run::run_history(const nlohmann::json& before) const {
  nlohmann::json history = provenance;
  history["resumes"] = nlohmann::json::array();
  if (start_update > 0)  // under another floating-point setting it continues, not bit for bit: said once
    history = base::resumed_history(before, provenance, {{"from_checkpoint", c.resume}, {"at_update", start_update}},
                                    "at_update", std::filesystem::path(c.resume).parent_path().string());
  const auto known = before.is_object() ? before.value("dataset", nlohmann::json()) : nlohmann::json();
  try {
    history["dataset"] = base::file_identity(c.dataset, known);
  } catch (const std::exception& e) {  // a folder, or unreadable now: named, not hashed
    history["dataset"] = {{"path", c.dataset}, {"sha256", nullptr}};
    std::cerr << "warning: " << c.dataset << ": not hashed (" << e.what() << ")\n";
  }
  record_arrays_checksum(history["dataset"], known, c.dataset);
  // The level of the episodes it trains on (their mean return, and normalised by the run's references):
  // the reference line of its curves.
  auto& level = history["dataset"];
  level["episode_return_mean"] = result.dataset_return_mean;
  const envs::ScoreReference ref{c.env, c.score_references.at(0), c.score_references.at(1)};
  if (std::isfinite(ref.normalize(result.dataset_return_mean)))
    level["behaviour_score"] = ref.normalize(result.dataset_return_mean);
  if (known.contains("sha256") && known.at("sha256") != history["dataset"].at("sha256"))
    std::cerr << "warning: " << c.dataset << " has changed since the run started (SHA-256 " << known.at("sha256")
              << ", now " << history["dataset"].at("sha256") << ")\n";
  return history;
}

void DecisionTrainer::Run::join_group() {
  if (launch.world_size == 1) return;
  if (!dist::available())
    throw std::invalid_argument("WORLD_SIZE=" + std::to_string(launch.world_size) +
                                ": this build has no distributed training (install libgloo-dev and rebuild)");
  // Each rank its own GPU (LOCAL_RANK) unless --device names one.
  device = dist::rank_device(launch, c.device);
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(c.dist_timeout * 1000));
  group = std::make_unique<dist::ProcessGroup>(launch, dist::collective_backend(device), timeout);
  reducer = std::make_unique<dist::GradientAllReduce>(*group);
}

void DecisionTrainer::Run::build_model() {
  agent.config = c;
  agent.env = c.env;
  agent.normalizer.mean = torch::tensor(dataset->state_mean());
  agent.normalizer.inv_std = torch::tensor(dataset->state_inv_std());  // the samplers' own factors
  torch::manual_seed(c.seed);
  agent.model = DecisionPolicy(decision_config(c, dataset->obs_dim(), dataset->act_dim()));
  if (resumed) {  // the sizes match: resolve_training_run checked them
    torch::NoGradGuard no_grad;
    auto src = resumed->model->named_parameters();
    for (auto& p : agent.model->named_parameters()) p.value().copy_(src[p.key()]);
  }
  if (!group) device = parse_device("--device", c.device);
  agent.model->to(device);
  parameters = agent.model->parameters();
  if (group) {
    // Every rank built the same weights from the same seed; rank 0's are
    // sent anyway, so ranks on different machines or builds cannot drift.
    torch::NoGradGuard no_grad;
    for (auto& p : parameters) group->broadcast(p, 0);
    // Dropout: one stream per rank (rank 0 keeps the single-process stream).
    if (launch.rank > 0) torch::manual_seed(c.seed + 0x9E3779B97F4A7C15ULL * static_cast<uint64_t>(launch.rank));
  }
  optimizer = std::make_unique<torch::optim::AdamW>(agent.model->parameters(),
                                                    torch::optim::AdamWOptions(c.lr).weight_decay(c.weight_decay));
  regime = make_regime(*dataset, c, launch.rank);
  if (c.cuda_graphs) {
    windows = dynamic_cast<WindowRegime*>(regime.get());  // TrainConfig::validate: DT's windows
    graphed = make_graphed_step(parameters, *optimizer, c.grad_clip, [this](const data::SequenceBatch& b) {
      return windows->loss_on_device(agent.model, b);
    });
  }
}

void DecisionTrainer::Run::restore_training_state() {
  if (!resumed) return;  // with its training state, as many ranks' generators as ranks, updates to make: checked
  optimizer->load(*resumed->training->optimizer);
  regime->set_rng_state(resumed->training->sampler_rng);
  auto generator = at::detail::getDefaultCPUGenerator();  // a handle: sets the global one
  const auto& ranks = resumed->training->rank_torch_rng;
  generator.set_state(ranks.defined() ? ranks[launch.rank].clone() : resumed->training->torch_rng);
  start_update = resumed->update;
  seconds_before =
      logged_seconds((std::filesystem::path(c.resume).parent_path() / "train_log.csv").string(), start_update);
  resumed.reset();  // the stored weights are copied; free them
}

void DecisionTrainer::Run::open_logs() {
  // Resumed into the folder of the run it continues: what that run wrote past
  // the resumed update belongs to a continuation that is being replaced.
  const int64_t keep = start_update > 0 ? start_update : -1;
  int64_t dropped = base::open_csv_log(log, c.out_dir + "/train_log.csv", "update,loss,lr,seconds,steps", keep);
  dropped += base::open_csv_log(eval_log, c.out_dir + "/eval.csv", eval_csv_header(), keep);
  int removed = 0;
  for (const auto& [update, path] : periodic_checkpoints(c.out_dir))
    if (keep >= 0 && update > keep) removed += std::filesystem::remove(path) ? 1 : 0;
  if (dropped > 0 || removed > 0)
    std::cerr << "resumed at update " << start_update << ": dropped " << dropped << " log row(s) and " << removed
              << " checkpoint(s) of " << c.out_dir << " written after it\n";
}

// Checkpoints and evaluations use the weights on the CPU (rollouts step one
// env at a time: no work for a GPU); Module::to moves the parameters in
// place, so the optimiser keeps them.
template <class Fn>
void DecisionTrainer::Run::on_cpu(const Fn& fn) {
  if (device.is_cpu()) return fn();
  if (graphed) graphed->invalidate();  // the parameters' storage moves: captured again at the next update
  agent.model->to(torch::kCPU);
  fn();
  agent.model->to(device);
}

// Called on every rank (the generators are gathered); rank 0 writes. The
// optimiser's state and the sampler's generator are the same on every rank.
void DecisionTrainer::Run::checkpoint(const std::string& path, int64_t update) {
  TrainingStateRef ts{optimizer.get(), regime->rng_state(), at::detail::getDefaultCPUGenerator().get_state(), {}};
  if (group) {
    auto states = group->all_gather(ts.torch_rng.to(device));
    for (auto& state : states) state = state.cpu();
    ts.rank_torch_rng = torch::stack(states);
  }
  if (!writes_files()) return;
  on_cpu([&] { save_checkpoint(path, agent.model, c, agent.normalizer, c.env, update, &ts); });
  result.checkpoint = path;
}

// Before a checkpoint or an evaluation (on every rank: the weights are the same on all).
void DecisionTrainer::Run::require_finite_weights(int64_t update) const {
  for (const auto& p : agent.model->parameters())
    if (!torch::isfinite(p).all().item<bool>())
      stop_diverged(c, start_update, update, "the weights after update " + std::to_string(update) + " are not finite");
}

// checkpoint_<update>.pt, keeping the newest keep_last of them.
void DecisionTrainer::Run::periodic_checkpoint(int64_t update) {
  checkpoint(c.out_dir + "/checkpoint_" + std::to_string(update) + ".pt", update);
  if (!writes_files() || c.keep_last <= 0) return;
  // Only this run's own: checkpoints up to this update (a resume into the
  // folder has already removed the ones past the update it resumed from).
  auto found = periodic_checkpoints(c.out_dir);
  found.erase(std::remove_if(found.begin(), found.end(), [&](const auto& f) { return f.first > update; }), found.end());
  for (size_t i = 0; i + static_cast<size_t>(c.keep_last) < found.size(); ++i) std::filesystem::remove(found[i].second);
}

std::vector<EvalResult> DecisionTrainer::Run::evaluate(int64_t update) {
  std::vector<EvalResult> out;
  for (const double target : c.eval_targets) {
    // Episode e of this evaluation starts from seed + e: `aaren rollout --checkpoint ... --target T
    // --seed S --episodes N` (any --num-envs) plays the same episodes.
    const uint64_t seed = c.seed + 1000 * static_cast<uint64_t>(update);
    RolloutResult r;
    try {
      on_cpu([&] { r = evaluate_agent(agent, target, c.evaluation_mode(), c.eval_episodes, seed); });
    } catch (const NonFiniteActionError& e) {  // finite weights whose actions are not: the run diverged
      stop_diverged_in_evaluation(update, target, e.what());
    }
    const EvalResult e{update,
                       target,
                       mean_of(r.returns()),
                       std_of(r.returns()),
                       mean_of(r.normalized_scores()),
                       std_of(r.normalized_scores()),
                       seed,
                       c.eval_episodes};
    eval_log << eval_csv_row(e) << "\n";
    out.push_back(e);
    result.evals.push_back(e);
  }
  eval_log.flush();
  return out;
}

// The model of `update` acts NaN or inf at `target` though its weights are finite (weights near
// float's limit: a step of lr 1e29 does it; targets past +-2^64 once scaled are refused before
// the run, but a large weight can overflow below that): the run stops as at a loss that is not
// finite, its folder and logs kept, the rows of the targets evaluated before written. A periodic
// evaluation comes before that update's checkpoint, so the last one kept is older. The final
// evaluation comes after checkpoint.pt: that model is moved aside (to a name --resume does not
// take), so that a resume, or a seed group's, continues from the last checkpoint that acted.
void DecisionTrainer::Run::stop_diverged_in_evaluation(int64_t update, double target, const std::string& what) {
  eval_log.flush();
  std::string kept;
  if (update != c.updates) {
    kept = kept_checkpoint(c, start_update, update);
  } else {
    const auto final_path = c.out_dir + "/checkpoint.pt", aside = c.out_dir + "/checkpoint.diverged.pt";
    std::error_code ec;
    // A resume from this folder's checkpoint.pt (a finished run trained on) had it replaced by the final one.
    const bool replaced = start_update > 0 && std::filesystem::equivalent(c.resume, final_path, ec);
    kept = kept_checkpoint(c, start_update, update, replaced && !ec);
    std::filesystem::rename(final_path, aside, ec);
    kept += ec ? "; its final checkpoint, " + final_path + ", holds that model"
               : "; the final model, which acted so, is set aside as " + aside;
  }
  std::ostringstream line;
  line << "the evaluation of update " << update << " at target " << target << ": " << what
       << "; the model computes values past float's range, its weights grown too large (--lr too large, or the "
          "data's values too large for float training) or the target too far beyond the data's returns; the run "
          "stops here and "
       << kept;
  throw TrainingDiverged(line.str());
}

std::pair<UpdateLoss, int> DecisionTrainer::Run::update(int64_t update, double lr, int asked) {
  if (graphed) return {graphed_update(lr), asked};  // one rank (TrainConfig::validate)
  const auto loss = eager_step(
      lr, [&] { return regime->accumulate_gradients(agent.model, device, c.precision == "bf16"); }, asked);
  return {loss, asked};
}

// One eager update: the learning rate, the gradient `accumulate` leaves (the
// global batch's, with several ranks; `asked` becomes the agreed stop
// signal), clipping and AdamW's step.
template <class Accumulate>
UpdateLoss DecisionTrainer::Run::eager_step(double lr, const Accumulate& accumulate, int& asked) {
  for (auto& group : optimizer->param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
  optimizer->zero_grad();
  auto loss = accumulate();
  if (reducer) {
    const auto totals = reducer->reduce(parameters, loss.loss, loss.steps, asked);  // the global batch's gradient
    loss.loss = totals.loss, loss.steps = totals.steps, asked = totals.stop_signal;
  }
  loss.gradient_norm = torch::nn::utils::clip_grad_norm_(parameters, c.grad_clip);
  if (!std::isfinite(loss.gradient_norm)) return loss;  // not stepped: the run stops with the model it had
  optimizer->step();
  return loss;
}

// --cuda-graphs: eager updates on the graph's stream first, then the captured
// step. A capture that fails (an operation a graph cannot hold) says so once
// and the run goes on eagerly with the same batch.
UpdateLoss DecisionTrainer::Run::graphed_update(double lr) {
  const auto batch = to_device(windows->next_batch(), device);
  int no_signal = 0;  // one rank: nothing to agree on
  auto eager = [&] {
    return eager_step(
        lr, [&] { return windows->accumulate_on(agent.model, batch, false); }, no_signal);
  };
  UpdateLoss loss;
  if (eager_before_capture > 0) {
    --eager_before_capture;
    graphed->on_graph_stream([&] { loss = eager(); });
    return loss;
  }
  try {
    const auto [value, steps] = graphed->run(batch, lr);
    return {value, steps};
  } catch (const std::exception& e) {
    const auto* torch_error = dynamic_cast<const c10::Error*>(&e);
    std::cerr << "warning: --cuda-graphs: the step could not be captured; eager updates from here ("
              << (torch_error ? torch_error->what_without_backtrace() : e.what()) << ")\n";
    try {
      graphed->invalidate();  // the optimiser's step counts, as the replays left them
    } catch (const std::exception&) {
    }
    graphed.reset();
    return eager();
  }
}

DecisionTrainer::DecisionTrainer(const TrainConfig& config, const std::set<std::string>& given_flags,
                                 const nlohmann::json& provenance)
    : run_(std::make_unique<Run>()) {
  run_->provenance = provenance;
  run_->prepare(config, given_flags);
}

DecisionTrainer::~DecisionTrainer() = default;

const TrainConfig& DecisionTrainer::config() const { return run_->c; }

int64_t DecisionTrainer::start_update() const { return run_->start_update; }

int DecisionTrainer::rank() const { return run_->launch.rank; }

TrainResult DecisionTrainer::run(const std::function<void(const TrainProgress&)>& progress) {
  // However the run ends, a signal it took (or one after the last update's check, during the final
  // evaluation, with nothing left to stop) is handled: a later run in this process starts afresh.
  struct ClearStopOnReturn {
    ~ClearStopOnReturn() { g_stop_signal.store(0, std::memory_order_relaxed); }
  } clear_stop_on_return;
  auto& r = *run_;
  const auto& c = r.c;
  TrainProgress p;
  p.updates = c.updates;
  const double start = base::now_seconds();
  double window_start = start;
  int64_t window_update = r.start_update;
  r.agent.model->train();
  int stop_signal = 0;
  for (int64_t update = r.start_update; update < c.updates && stop_signal == 0; ++update) {
    const double lr = learning_rate(c, update);
    const auto [loss, agreed] = r.update(update, lr, g_stop_signal.load(std::memory_order_relaxed));
    stop_signal = agreed;  // with several ranks, a peer's signal too
    const int64_t done = update + 1;
    if (const auto bad = non_finite_step(done, loss.loss, loss.gradient_norm); !bad.empty())
      stop_diverged(c, r.start_update, done, bad);  // every rank: the loss and gradient are reduced
    p.update = done, p.loss = loss.loss, p.lr = lr;
    if (r.writes_files())
      r.log << done << "," << loss.loss << "," << lr << "," << r.seconds_before + base::now_seconds() - start << ","
            << loss.steps << "\n";
    r.log.flush();  // a killed run keeps its log, to the last update
    r.result.updates_done = done;
    // A stop on the last update: the run ends as it would have (final checkpoint and evaluation);
    // one stopped here could not be resumed (no update is left to make).
    if (stop_signal != 0 && done == c.updates) {
      stop_signal = 0;
      g_stop_signal.store(0, std::memory_order_relaxed);
    }
    if (stop_signal != 0 || done == c.updates || done % c.eval_every == 0 ||
        (c.checkpoint_every > 0 && done % c.checkpoint_every == 0))
      r.require_finite_weights(done);  // before the model is saved or evaluated
    // The evaluation due at this update comes before a stop's checkpoint, as in the run never
    // stopped: the resume starts after that checkpoint, so the point would never be logged.
    if (r.writes_files() && done % c.eval_every == 0 && done < c.updates) p.last_evals = r.evaluate(done);
    if (stop_signal != 0) {
      r.periodic_checkpoint(done);  // every rank: the generators are gathered
      break;
    }
    if (c.checkpoint_every > 0 && done % c.checkpoint_every == 0 && done < c.updates) r.periodic_checkpoint(done);
    if (progress && r.writes_files() && (done % 10 == 0 || done == c.updates)) {
      const double t_now = base::now_seconds();
      p.updates_per_second = (done - window_update) / std::max(t_now - window_start, 1e-9);
      if (t_now - window_start > 5) window_start = t_now, window_update = done;
      p.eta_seconds = (c.updates - done) / std::max(p.updates_per_second, 1e-9);
      progress(p);
    }
  }
  r.result.final_loss = p.loss;
  r.result.stop_signal = stop_signal;
  if (stop_signal != 0) {
    r.result.seconds = base::now_seconds() - start;
    return r.result;
  }
  r.checkpoint(c.out_dir + "/checkpoint.pt", c.updates);
  r.result.checkpoint = c.out_dir + "/checkpoint.pt";
  r.result.seconds = base::now_seconds() - start;
  if (!r.writes_files()) return r.result;  // rank 0 evaluates
  p.last_evals = r.evaluate(c.updates);
  if (progress) progress(p);
  r.result.seconds = base::now_seconds() - start;
  return r.result;
}

void request_training_stop(int signal) noexcept { g_stop_signal.store(signal, std::memory_order_relaxed); }

TrainResult train_decision(const TrainConfig& config, const std::function<void(const TrainProgress&)>& progress) {
  return DecisionTrainer(config).run(progress);
}

}  // namespace aaren
