// aaren train: offline training of a decision agent (Aaren or Transformer backbone).
#include <filesystem>
#include <iomanip>
#include <iostream>

#include "agents/decision_trainer.h"
#include "apps/cli.h"
#include "apps/commands.h"
#include "base/atomic_file.h"
#include "base/svg_plot.h"

namespace aaren::cli {

int run_train(int argc, char** argv) {
  namespace po = boost::program_options;
  TrainConfig c;
  po::options_description options("Options (defaults: Decision Transformer's, Chen et al. 2021)");
  // clang-format off
  options.add_options()
      ("dataset", po::value(&c.dataset), "D4RL .hdf5 file, Minari main_data.hdf5 or Minari folder")
      ("backbone", po::value(&c.backbone)->default_value(c.backbone), "aaren | transformer")
      ("tokens", po::value(&c.tokens)->default_value(c.tokens),
       "token layout: interleaved (DT: R, s, a per step) | fused (one token per step from R_t, s_t, a_{t-1})")
      ("fused-norm", po::value(&c.fused_norm)->default_value(c.fused_norm),
       "fused: LayerNorm each part's embedding before the sum, so a target return far above the data cannot "
       "drown the state (0: the plain sum)")
      ("out", po::value(&c.out_dir)->required(), "output folder: config.json, train_log.csv, eval.csv, checkpoint.pt")
      ("env", po::value(&c.env), "env for evaluation (default: from the dataset's metadata or file name)")
      ("embed-dim", po::value(&c.embed_dim)->default_value(c.embed_dim), "model width")
      ("layers", po::value(&c.n_layers)->default_value(c.n_layers), "blocks")
      ("heads", po::value(&c.n_heads)->default_value(c.n_heads), "attention heads")
      ("dropout", po::value(&c.dropout)->default_value(c.dropout), "dropout")
      ("context", po::value(&c.context)->default_value(c.context), "K: Transformer window in steps (3K tokens)")
      ("batch-size", po::value(&c.batch_size)->default_value(c.batch_size), "Transformer: windows per update")
      ("aaren-batch", po::value(&c.aaren_batch)->default_value(c.aaren_batch), "Aaren: whole episodes per update")
      ("chunk-steps", po::value(&c.chunk_steps)->default_value(c.chunk_steps),
       "Aaren: steps per chunk (state carried, gradients cut between chunks)")
      ("aaren-sampling", po::value(&c.aaren_sampling)->default_value(c.aaren_sampling),
       "Aaren: episodes (whole episodes from the first step, as it acts) | windows (DT's --batch-size windows of "
       "--context steps, each from an empty state; pair with --recency)")
      ("recency", po::value(&c.recency)->default_value(c.recency),
       "Aaren: learned per-head recency bias, initial rate b (score + b * step: a token k steps old weighs exp(-b k) "
       "as much; 0: none)")
      ("updates", po::value(&c.updates)->default_value(c.updates), "gradient updates (total, also with --resume)")
      ("lr", po::value(&c.lr)->default_value(c.lr), "AdamW learning rate")
      ("weight-decay", po::value(&c.weight_decay)->default_value(c.weight_decay), "AdamW weight decay")
      ("warmup", po::value(&c.warmup)->default_value(c.warmup), "linear warm-up updates")
      ("lr-schedule", po::value(&c.lr_schedule)->default_value(c.lr_schedule),
       "after the warm-up: constant (DT's) | cosine (half a cosine to 0 at the last update; for short schedules)")
      ("grad-clip", po::value(&c.grad_clip)->default_value(c.grad_clip), "gradient-norm clipping")
      ("return-scale", po::value(&c.return_scale)->default_value(c.return_scale), "returns-to-go are divided by this")
      ("max-ep-len", po::value(&c.max_ep_len)->default_value(c.max_ep_len), "timestep embedding size")
      ("target-return", po::value(&c.target_return)->default_value(c.target_return),
       "evaluation target return (0: the env's DT default, e.g. hopper 3600)")
      ("eval-every", po::value(&c.eval_every)->default_value(c.eval_every), "evaluate every N updates (0: at the end)")
      ("eval-episodes", po::value(&c.eval_episodes)->default_value(c.eval_episodes), "episodes per evaluation")
      ("checkpoint-every", po::value(&c.checkpoint_every)->default_value(c.checkpoint_every),
       "also keep checkpoint_<update>.pt every N updates")
      ("seed", po::value(&c.seed)->default_value(c.seed), "random seed")
      ("threads", po::value(&c.threads)->default_value(c.threads), "LibTorch threads")
      ("device", po::value(&c.device)->default_value(c.device),
       "cpu | cuda | cuda:N (needs a CUDA LibTorch; evaluations and checkpoints use the CPU)")
      ("precision", po::value(&c.precision)->default_value(c.precision),
       "fp32 | bf16 (mixed precision: bf16 matmuls; weights, optimiser and the scan state stay fp32)")
      ("resume", po::value(&c.resume), "continue the run stored in this checkpoint (same weights as uninterrupted)");
  // clang-format on
  po::variables_map vm;
  if (!parse(argc, argv, "--dataset FILE --backbone aaren|transformer --out DIR [options]", options, vm))
    return kExitOk;
  try {
    c.validate();
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  const bool out_existed = std::filesystem::exists(c.out_dir);
  require_writable("out", c.out_dir, /*folder=*/true);
  // A run that fails on its input (a bad dataset, a wrong --env) leaves no
  // folder behind that it created; one that has written a checkpoint keeps it.
  auto remove_if_created = [&] {
    if (out_existed) return;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(c.out_dir, ec))
      if (entry.path().extension() == ".pt") return;
    std::filesystem::remove_all(c.out_dir, ec);
  };
  std::cout << "config: " << c.to_json().dump() << std::endl;
  base::write_file_atomically(c.out_dir + "/config.json", c.to_json().dump(2) + "\n");
  TrainResult r;
  try {
    r = train_decision(c, [&](const TrainProgress& p) {
      std::cerr << "\r[train " << c.backbone << "] update " << p.update << "/" << p.updates << " (" << std::fixed
                << std::setprecision(1) << 100.0 * p.update / p.updates << "%) " << std::setprecision(1)
                << p.updates_per_second << " upd/s, ETA " << format_duration(p.eta_seconds) << " | loss "
                << std::setprecision(4) << p.loss << " lr " << std::scientific << std::setprecision(2) << p.lr
                << std::fixed << std::setprecision(1) << " | eval return " << p.eval_return << " (score "
                << p.eval_score << ")   " << std::flush;
    });
  } catch (const std::invalid_argument& e) {
    remove_if_created();
    throw InputError(e.what());
  } catch (const envs::EnvError& e) {
    remove_if_created();
    throw InputError(e.what());
  }
  std::cerr << "\n";
  // The resolved run (env, target return) next to its outputs.
  if (!r.evals.empty()) {
    base::Series s{"eval return", {}, {}};
    for (const auto& e : r.evals) s.x.push_back(static_cast<double>(e.update)), s.y.push_back(e.return_mean);
    base::write_svg(c.out_dir + "/eval.svg", {s}, {"decision agent (" + c.backbone + ")", "updates", "mean return"});
    const auto& last = r.evals.back();
    std::cout << "final evaluation: return " << last.return_mean << " +- " << last.return_std << ", normalised "
              << last.score_mean << " +- " << last.score_std << " (dataset mean episode return "
              << r.dataset_return_mean << ")\n";
  }
  std::cout << "trained in " << format_duration(r.seconds) << "; checkpoint " << r.checkpoint << "\n";
  return kExitOk;
}

}  // namespace aaren::cli
