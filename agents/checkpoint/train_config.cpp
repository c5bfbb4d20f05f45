#include "agents/checkpoint/train_config.h"

#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

#include "agents/models/device.h"
#include "base/blas_kernels.h"
#include "base/format.h"

namespace aaren {

namespace {
using C = TrainConfig;

// The data, the model and the controls.
std::vector<base::ConfigField<C>> model_fields() {
  using base::field;
  return {
      field("dataset", &C::dataset,
            "D4RL .hdf5 file, Minari main_data.hdf5 or folder, or a dataset name: hopper-medium-v2 (D4RL, in "
            "$D4RL_DATASET_DIR or ~/.d4rl/datasets), mujoco/hopper/medium-v0 (Minari, in $MINARI_DATASETS_PATH or "
            "~/.minari/datasets); see 'aaren data list'"),
      field("env", &C::env, "env for evaluation (default: from the dataset's metadata or file name)"),
      field("out", &C::out_dir, "output folder: config.json, train_log.csv, eval.csv, checkpoint.pt", {"out", true}),
      field("backbone", &C::backbone, backbone_names() + " (see 'aaren backbones')"),
      field("tokens", &C::tokens,
            "token layout: interleaved (DT: R, s, a per step) | fused (one token per step from R_t, s_t, a_{t-1})",
            {"", false, nlohmann::json("interleaved")}),
      field("fused-norm", &C::fused_norm,
            "fused: LayerNorm each part's embedding before the sum, so a target return far above the data cannot "
            "drown the state (0: the plain sum)",
            {"", false, nlohmann::json(false)}),
      field("embed-dim", &C::embed_dim, "model width"),
      field("layers", &C::n_layers, "blocks").formerly("n_layers"),
      field("heads", &C::n_heads, "attention heads").formerly("n_heads"),
      field("dropout", &C::dropout, "dropout"),
      field(
          "context", &C::context,
          "K: the window in steps (3K tokens interleaved, K fused): the Transformer's, and Aaren's and the LSTM's with "
          "--aaren-sampling windows"),
      field("batch-size", &C::batch_size,
            "windows per update (the Transformer; Aaren and the LSTM with --aaren-sampling windows)"),
      field("aaren-batch", &C::aaren_batch, "Aaren, LSTM: whole episodes per update"),
      field("chunk-steps", &C::chunk_steps,
            "Aaren, LSTM: steps per chunk (state carried, gradients cut between chunks)"),
      field("aaren-sampling", &C::aaren_sampling,
            "Aaren, LSTM (backbones that train on whole episodes): episodes (whole episodes from the first step, "
            "as they act) | windows (DT's --batch-size windows of --context steps, each from an empty state; "
            "Aaren: pair with --recency)",
            {"", false, nlohmann::json("episodes")}),
      field("recency", &C::recency,
            "Aaren: learned per-head recency bias, initial rate b (score + b * step: a token k steps old weighs "
            "exp(-b k) as much; 0: none)",
            {"", false, nlohmann::json(0.0)}),
      field("condition-on-return", &C::condition_on_return,
            "1: condition on the return-to-go (DT) | 0: hold it at 0, behaviour cloning with the same backbone "
            "(DT's BC control)",
            {"", false, nlohmann::json(true)}),
      field("top-fraction", &C::top_fraction,
            "train on the highest-return episodes, best first, up to this fraction of the timesteps (DT's %BC: "
            "0.1 with --condition-on-return 0 is 10%BC; 1: all)",
            {"", false, nlohmann::json(1.0)}),
  };
}

// The schedule, the evaluations and the run.
std::vector<base::ConfigField<C>> run_fields() {
  using base::field;
  return {
      field("updates", &C::updates, "gradient updates (total, also with --resume)", {"", true}),
      field("lr", &C::lr, "AdamW learning rate"),
      field("weight-decay", &C::weight_decay, "AdamW weight decay"),
      field("warmup", &C::warmup, "linear warm-up updates"),
      field("lr-schedule", &C::lr_schedule,
            "after the warm-up: constant (DT's) | cosine (half a cosine to 0 at the last update; for short schedules)",
            {"", false, nlohmann::json("constant")}),
      field("grad-clip", &C::grad_clip, "gradient-norm clipping"),
      field("return-scale", &C::return_scale, "returns-to-go are divided by this"),
      field("max-ep-len", &C::max_ep_len, "timestep embedding size"),
      field("target-return", &C::target_return,
            "the agent's target return when it acts (0: the env's higher DT target, e.g. hopper 3600; where DT "
            "published none, the data's best episode return)"),
      field("eval-targets", &C::eval_targets,
            "target returns each evaluation conditions on (default: the env's two DT targets, e.g. hopper 3600 1800; "
            "where DT published none, the data's best and mean episode returns)",
            {"", true, nlohmann::json::array()}),
      field("score-references", &C::score_references,
            "the normalised score's two reference returns, 0 and 100 points (default: the dataset's own, Minari's "
            "ref_min_score and ref_max_score, else D4RL's for the env)",
            {"", false, nlohmann::json::array()}),
      field(
          "eval-every", &C::eval_every,
          "evaluate every N updates (0: max(1, updates / 10), about 10 points per run, fixed when the run starts); the "
          "last update is always evaluated",
          {"", true}),
      field("eval-episodes", &C::eval_episodes, "episodes per evaluation and target", {"", true}),
      field("eval-mode", &C::eval_mode,
            "how evaluations (and 'aaren rollout --mode auto') act: auto (the backbone's default: Aaren and the "
            "LSTM recurrently, the Transformer on DT's window) | recurrent | window | kvcache",
            {"", false, nlohmann::json("auto")}),
      field("checkpoint-every", &C::checkpoint_every,
            "write checkpoint_<update>.pt every N updates (0: only at the end and when stopped by SIGINT/SIGTERM)",
            {"", true}),
      field("keep-last", &C::keep_last, "keep the newest K periodic checkpoints, delete older ones (0: keep all)",
            {"", true, nlohmann::json(0)}),
      field("seed", &C::seed, "random seed"),
      field("threads", &C::threads, "LibTorch threads", {"", true}),
      field("device", &C::device,
            "cpu | cuda | cuda:N (needs a CUDA LibTorch; evaluations and checkpoints use the CPU)",
            {"", false, nlohmann::json("cpu")}),
      field("precision", &C::precision,
            "fp32 | bf16 (mixed precision: bf16 matmuls; weights, optimiser and the scan state stay fp32)",
            {"", false, nlohmann::json("fp32")}),
      field("cuda-graphs", &C::cuda_graphs,
            "capture DT's training step in a CUDA graph and replay it per update (--device cuda, DT's windows, "
            "one rank, fp32; off until measured on a GPU)",
            {"", true, nlohmann::json(false)}),
      field("resume", &C::resume, "continue a run: a checkpoint, or a run folder's newest (exactly)",
            {"", true, nlohmann::json("")}),
      field("nproc", &C::nproc,
            "data-parallel ranks started on this machine (c10d: Gloo on the CPU, NCCL on CUDA); --batch-size "
            "and --aaren-batch are the global batch, split over the ranks. Under torchrun or a hand launch, "
            "WORLD_SIZE/RANK/MASTER_ADDR/MASTER_PORT decide instead",
            {"", true, nlohmann::json(1)}),
      field("dist-timeout", &C::dist_timeout,
            "seconds a rank waits for the others (rendezvous, each update's all-reduce) before it ends the run",
            {"dist_timeout", true, nlohmann::json(1800.0)}),
  };
}
}  // namespace

const std::vector<base::ConfigField<TrainConfig>>& TrainConfig::fields() {
  static const std::vector<base::ConfigField<TrainConfig>> table = [] {
    auto all = model_fields();
    const auto more = run_fields();
    all.insert(all.end(), more.begin(), more.end());
    return all;
  }();
  return table;
}

namespace {
// The counts and rates of a run, each refused by its own flag and value (one
// message names the one that is wrong, not a group of flags).
void validate_counts_and_rates(const TrainConfig& c) {
  auto fail = [](const std::string& what) { throw std::invalid_argument(what); };
  const std::pair<const char*, int64_t> positive[] = {
      {"--embed-dim", c.embed_dim},     {"--layers", c.n_layers},
      {"--heads", c.n_heads},           {"--context", c.context},
      {"--batch-size", c.batch_size},   {"--aaren-batch", c.aaren_batch},
      {"--chunk-steps", c.chunk_steps}, {"--updates", c.updates},
      {"--max-ep-len", c.max_ep_len},   {"--eval-episodes", c.eval_episodes},
      {"--threads", c.threads}};
  for (const auto& [flag, value] : positive)
    if (value <= 0) fail(std::string(flag) + " must be > 0, got " + std::to_string(value));
  const std::pair<const char*, int64_t> non_negative[] = {{"--warmup", c.warmup},
                                                          {"--eval-every", c.eval_every},
                                                          {"--checkpoint-every", c.checkpoint_every},
                                                          {"--keep-last", c.keep_last}};
  for (const auto& [flag, value] : non_negative)
    if (value < 0) fail(std::string(flag) + " must be >= 0, got " + std::to_string(value));
  if (c.embed_dim % c.n_heads != 0)
    fail("--heads " + std::to_string(c.n_heads) + " must divide --embed-dim " + std::to_string(c.embed_dim));
  const std::pair<const char*, double> positive_rates[] = {
      {"--lr", c.lr}, {"--grad-clip", c.grad_clip}, {"--return-scale", c.return_scale}};
  for (const auto& [flag, value] : positive_rates)
    if (!(value > 0)) fail(std::string(flag) + " must be > 0, got " + base::plain(value));
  if (!(c.weight_decay >= 0)) fail("--weight-decay must be >= 0, got " + base::plain(c.weight_decay));
  // AdamW's first step, lr / (1 - beta1) = 10 lr, and its decay factor, 1 - lr x weight decay, are
  // float scalars: beyond float's range LibTorch stopped that step ("cannot be converted to type float").
  constexpr double kFloatMax = 3.4028234663852886e38;
  if (c.lr > kFloatMax / 10 || c.lr * c.weight_decay > kFloatMax)
    fail("--lr " + base::plain(c.lr) + " (times --weight-decay " + base::plain(c.weight_decay) +
         ") must be at most 3.4e37 (3.4e38): AdamW's first step, 10 x lr, is a float");
  if (!(c.dropout >= 0 && c.dropout < 1)) fail("--dropout must be in [0, 1), got " + base::plain(c.dropout));
}
}  // namespace

void check_target_return(const std::string& flag, double target, double return_scale) {
  if (!std::isfinite(target)) throw std::invalid_argument(flag + " must be finite, got " + base::plain(target));
  constexpr double kLargestMagnitude = 18446744073709551616.0;  // 2^64
  if (std::abs(target / return_scale) > kLargestMagnitude)
    throw std::invalid_argument(flag + " " + base::plain(target) + ": divided by --return-scale " +
                                base::plain(return_scale) +
                                " it must be within +-2^64 (1.8e19; float arithmetic overflows squaring it)");
}

void TrainConfig::validate() const {
  auto fail = [](const std::string& what) { throw std::invalid_argument(what); };
  if (dataset.empty() && resume.empty()) fail("--dataset is required");
  if (out_dir.empty()) fail("--out is required");
  validate_counts_and_rates(*this);
  if (!(recency >= 0 && recency < 1e3)) fail("--recency must be in [0, 1000)");
  if (!(top_fraction > 0 && top_fraction <= 1)) fail("--top-fraction must be in (0, 1]");
  if (recency > 0 && backbone != BackboneKind::kAaren)
    fail("--recency is an Aaren option, not " + std::string(to_string(backbone)) + "'s");
  for (const double t : eval_targets)  // their range, once resolved: resolve_training_run
    if (!std::isfinite(t)) fail("--eval-targets must be finite numbers");
  if (nproc < 1 || nproc > 1024) fail("--nproc must be in [1, 1024]");
  if (!(dist_timeout > 0 && dist_timeout < 1e7)) fail("--dist-timeout must be > 0 seconds");
  if (nproc > 1) {
    const bool episodes = trains_on_episodes();
    const int64_t global = episodes ? aaren_batch : batch_size;
    if (global % nproc != 0)
      fail(std::string(episodes ? "--aaren-batch " : "--batch-size ") + std::to_string(global) +
           " must be a multiple of the " + std::to_string(nproc) + " ranks (it is the global batch)");
  }
  if (!std::isfinite(target_return)) fail("--target-return must be a finite number");
  evaluation_mode();  // --eval-mode: a mode, and one this backbone acts in
  check_precision("--precision", precision);
  if (!score_references.empty() && (score_references.size() != 2 || !std::isfinite(score_references[0]) ||
                                    !std::isfinite(score_references[1]) || score_references[0] == score_references[1]))
    fail("--score-references takes two different finite returns, MIN (score 0) and MAX (score 100)");
  // The pinned oneDNN (AVX2) has no bf16 primitives: without this, the first update fails in oneDNN's words.
  if (precision == "bf16" && !parse_device("--device", device).is_cuda() && base::reproducible_mode())
    fail(
        "--precision bf16 on the CPU: AAREN_REPRODUCIBLE=1 pins oneDNN to AVX2, which has no bf16 kernels; "
        "use --precision fp32, or unset AAREN_REPRODUCIBLE");
  if (cuda_graphs && (precision != "fp32" || nproc > 1 || trains_on_episodes()))
    fail(
        "--cuda-graphs 1 captures DT's windows on one rank in fp32 (a fixed-shape step): drop it, or use "
        "--precision fp32, --nproc 1 and DT's windows");
  if (cuda_graphs && !parse_device("--device", device).is_cuda()) fail("--cuda-graphs 1 needs --device cuda");
  if (parse_device("--device", device).is_cuda() && !resume.empty())
    fail("--resume continues on the CPU only (the optimiser state is kept as saved); drop --device");
}

// Without "resume": which checkpoint a run continued from is history, not a
// setting (config.json keeps it under provenance.resumes), so a run started
// from a resumed run's config.json (--config) starts afresh.
nlohmann::json TrainConfig::to_json() const {
  auto j = base::fields_to_json(*this, fields());
  j.erase("resume");
  return j;
}

TrainConfig TrainConfig::from_json(const nlohmann::json& j) {
  auto c = base::fields_from_json(j, fields());
  c.resume.clear();  // files written before it moved to provenance still hold it
  return c;
}

ActMode TrainConfig::evaluation_mode() const { return descriptor(backbone).mode_named(eval_mode, "--eval-mode"); }

double learning_rate(const TrainConfig& c, int64_t update) {
  const double warm = std::min(1.0, static_cast<double>(update + 1) / std::max<int64_t>(c.warmup, 1));
  if (c.lr_schedule != LrSchedule::kCosine || update < c.warmup) return c.lr * warm;
  // Half a cosine from lr after the warm-up to 0 at the last update: a short
  // schedule ends on small steps instead of wherever lr's noise left it.
  const double progress = static_cast<double>(update - c.warmup) / std::max<int64_t>(c.updates - c.warmup, 1);
  return c.lr * 0.5 * (1 + std::cos(M_PI * std::min(progress, 1.0)));
}

}  // namespace aaren
