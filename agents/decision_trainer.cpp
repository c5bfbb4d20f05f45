#include "agents/decision_trainer.h"

#include <unistd.h>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>

#include "base/clock.h"
#include "agents/device.h"
#include "agents/sealed_archive.h"
#include "data/hdf5_io.h"
#include "data/trajectory_dataset.h"
#include "envs/registry.h"
#include "base/atomic_file.h"

namespace aaren {

namespace {
constexpr int64_t kCheckpointVersion = 1;
}  // namespace

struct TrainingState {
  torch::optim::Optimizer* optimizer = nullptr;
  std::string sampler_rng;
  torch::Tensor torch_rng;
};

void TrainConfig::validate() const {
  auto fail = [](const std::string& what) { throw std::invalid_argument(what); };
  if (dataset.empty() && resume.empty()) fail("--dataset is required");
  if (out_dir.empty()) fail("--out is required");
  if (backbone != "aaren" && backbone != "transformer")
    fail("--backbone must be aaren or transformer, got '" + backbone + "'");
  if (tokens != "interleaved" && tokens != "fused") fail("--tokens must be interleaved or fused, got '" + tokens + "'");
  if (embed_dim <= 0 || n_layers <= 0 || n_heads <= 0 || embed_dim % n_heads != 0)
    fail("--embed-dim, --layers, --heads must be > 0 and --heads must divide --embed-dim");
  if (!(dropout >= 0 && dropout < 1)) fail("--dropout must be in [0, 1)");
  if (context <= 0 || batch_size <= 0 || aaren_batch <= 0 || chunk_steps <= 0)
    fail("--context, --batch-size, --aaren-batch, --chunk-steps must be > 0");
  if (aaren_sampling != "episodes" && aaren_sampling != "windows")
    fail("--aaren-sampling must be episodes or windows, got '" + aaren_sampling + "'");
  if (!(recency >= 0 && recency < 1e3)) fail("--recency must be in [0, 1000)");
  if (recency > 0 && backbone != "aaren") fail("--recency is an Aaren option (the Transformer acts on a window)");
  if (updates <= 0) fail("--updates must be > 0");
  if (!(lr > 0) || weight_decay < 0 || warmup < 0 || !(grad_clip > 0))
    fail("--lr, --grad-clip must be > 0; --weight-decay, --warmup >= 0");
  if (lr_schedule != "constant" && lr_schedule != "cosine")
    fail("--lr-schedule must be constant or cosine, got '" + lr_schedule + "'");
  if (!(return_scale > 0) || max_ep_len <= 0) fail("--return-scale and --max-ep-len must be > 0");
  if (eval_every < 0 || eval_episodes <= 0 || checkpoint_every < 0)
    fail("--eval-every, --checkpoint-every >= 0; --eval-episodes > 0");
  if (threads <= 0) fail("--threads must be > 0");
  if (!std::isfinite(target_return)) fail("--target-return must be a finite number");
  check_precision("--precision", precision);
  if (parse_device("--device", device).is_cuda() && !resume.empty())
    fail("--resume continues on the CPU only (the optimiser state is kept as saved); drop --device");
}

nlohmann::json TrainConfig::to_json() const {
  return {{"dataset", dataset},
          {"env", env},
          {"out", out_dir},
          {"backbone", backbone},
          {"tokens", tokens},
          {"fused_norm", fused_norm},
          {"embed_dim", embed_dim},
          {"n_layers", n_layers},
          {"n_heads", n_heads},
          {"dropout", dropout},
          {"context", context},
          {"batch_size", batch_size},
          {"aaren_batch", aaren_batch},
          {"chunk_steps", chunk_steps},
          {"aaren_sampling", aaren_sampling},
          {"recency", recency},
          {"updates", updates},
          {"lr", lr},
          {"weight_decay", weight_decay},
          {"warmup", warmup},
          {"lr_schedule", lr_schedule},
          {"grad_clip", grad_clip},
          {"return_scale", return_scale},
          {"max_ep_len", max_ep_len},
          {"target_return", target_return},
          {"eval_every", eval_every},
          {"eval_episodes", eval_episodes},
          {"checkpoint_every", checkpoint_every},
          {"seed", seed},
          {"threads", threads},
          {"device", device},
          {"precision", precision},
          {"resume", resume}};
}

TrainConfig TrainConfig::from_json(const nlohmann::json& j) {
  TrainConfig c;
  c.dataset = j.at("dataset"), c.env = j.at("env"), c.out_dir = j.at("out"), c.backbone = j.at("backbone");
  c.tokens = j.value("tokens", std::string("interleaved"));  // checkpoints from before the fused layout
  c.fused_norm = j.value("fused_norm", false);  // fused checkpoints from before the per-part LayerNorms summed plainly
  c.embed_dim = j.at("embed_dim"), c.n_layers = j.at("n_layers"), c.n_heads = j.at("n_heads");
  c.dropout = j.at("dropout"), c.context = j.at("context"), c.batch_size = j.at("batch_size");
  c.aaren_batch = j.at("aaren_batch"), c.chunk_steps = j.at("chunk_steps"), c.updates = j.at("updates");
  c.aaren_sampling = j.value("aaren_sampling", std::string("episodes"));  // checkpoints from before the option
  c.recency = j.value("recency", 0.0);
  c.lr = j.at("lr"), c.weight_decay = j.at("weight_decay"), c.warmup = j.at("warmup");
  c.lr_schedule = j.value("lr_schedule", std::string("constant"));  // checkpoints from before the option
  c.grad_clip = j.at("grad_clip"), c.return_scale = j.at("return_scale"), c.max_ep_len = j.at("max_ep_len");
  c.target_return = j.at("target_return"), c.eval_every = j.at("eval_every");
  c.eval_episodes = j.at("eval_episodes"), c.checkpoint_every = j.at("checkpoint_every"), c.seed = j.at("seed");
  c.threads = j.at("threads"), c.resume = j.at("resume");
  c.device = j.value("device", std::string("cpu"));  // checkpoints from before --device
  c.precision = j.value("precision", std::string("fp32"));
  return c;
}

double learning_rate(const TrainConfig& c, int64_t update) {
  const double warm = std::min(1.0, static_cast<double>(update + 1) / std::max<int64_t>(c.warmup, 1));
  if (c.lr_schedule != "cosine" || update < c.warmup) return c.lr * warm;
  // Half a cosine from lr after the warm-up to 0 at the last update: a short
  // schedule ends on small steps instead of wherever lr's noise left it.
  const double progress = static_cast<double>(update - c.warmup) / std::max<int64_t>(c.updates - c.warmup, 1);
  return c.lr * 0.5 * (1 + std::cos(M_PI * std::min(progress, 1.0)));
}

double default_target_return(const std::string& env) {
  const auto name = envs::resolve_env_name(env).spec->name;
  if (name == "hopper") return 3600;
  if (name == "halfcheetah") return 12000;
  if (name == "walker2d") return 5000;
  return 6000;
}

namespace {

DecisionConfig decision_config(const TrainConfig& c, int64_t state_dim, int64_t act_dim) {
  DecisionConfig d;
  d.state_dim = state_dim, d.act_dim = act_dim, d.max_ep_len = c.max_ep_len, d.context = c.context;
  d.backbone.kind = c.backbone;
  d.tokens = c.tokens;
  d.fused_norm = c.fused_norm;
  d.backbone.d_model = c.embed_dim, d.backbone.n_layers = c.n_layers, d.backbone.n_heads = c.n_heads;
  d.backbone.dropout = c.dropout;
  d.backbone.recency = c.recency;
  return d;
}

// Mean squared error over the real steps; normaliser = real steps x act_dim.
// In fp32 whatever the forward pass ran in.
torch::Tensor masked_mse_sum(const torch::Tensor& pred_in, const torch::Tensor& target, const torch::Tensor& mask) {
  const auto pred = pred_in.to(torch::kFloat);
  return ((pred - target).pow(2) * mask.unsqueeze(-1).to(pred.scalar_type())).sum();
}

data::SequenceBatch to_device(const data::SequenceBatch& b, const torch::Device& device) {
  if (device.is_cpu()) return b;
  return {b.states.to(device),        b.actions.to(device),   b.rewards.to(device),
          b.returns_to_go.to(device), b.timesteps.to(device), b.mask.to(device)};
}

}  // namespace

void save_checkpoint(const std::string& path, const DecisionPolicy& model, const TrainConfig& config,
                     const StateNormalizer& normalizer, const std::string& env, int64_t update,
                     const TrainingState* training) {
  torch::serialize::OutputArchive archive, weights;
  model->save(weights);
  archive.write("model", weights);
  archive.write("aaren_checkpoint_version", torch::tensor({kCheckpointVersion}));
  nlohmann::json meta{{"config", config.to_json()},
                      {"env", env},
                      {"backbone", config.backbone},
                      {"update", update},
                      {"state_dim", model->config().state_dim},
                      {"act_dim", model->config().act_dim}};
  archive.write("meta_json", c10::IValue(meta.dump()));
  archive.write("state_mean", normalizer.mean);
  archive.write("state_inv_std", normalizer.inv_std);
  if (training) {
    torch::serialize::OutputArchive opt;
    training->optimizer->save(opt);
    archive.write("optimizer", opt);
    archive.write("sampler_rng", c10::IValue(training->sampler_rng));
    archive.write("torch_rng", training->torch_rng);
  }
  save_sealed_archive(archive, path);
}

namespace {
// Opens a checkpoint archive with clear errors.
torch::serialize::InputArchive open_checkpoint(const std::string& path, nlohmann::json& meta) {
  auto archive = load_sealed_archive(path, "checkpoint");
  c10::IValue meta_text;
  torch::Tensor version;
  bool found = false;
  try {
    found = archive.try_read("aaren_checkpoint_version", version) && archive.try_read("meta_json", meta_text) &&
            version.numel() == 1 && meta_text.isString();
  } catch (const c10::Error&) {
  }
  if (!found)
    throw std::runtime_error(path + ": not an aaren agent checkpoint (no aaren_checkpoint_version/meta_json)");
  if (version.item<int64_t>() != kCheckpointVersion)
    throw std::runtime_error(path + ": checkpoint version " + std::to_string(version.item<int64_t>()) +
                             ", this build reads version " + std::to_string(kCheckpointVersion));
  try {
    meta = nlohmann::json::parse(meta_text.toStringRef());
  } catch (const std::exception&) {
    throw std::runtime_error(path + ": the checkpoint's meta_json is not valid JSON");
  }
  return archive;
}
}  // namespace

LoadedAgent load_checkpoint(const std::string& path) {
  nlohmann::json meta;
  auto archive = open_checkpoint(path, meta);
  LoadedAgent agent;
  try {
    agent.config = TrainConfig::from_json(meta.at("config"));
    agent.env = meta.at("env");
    agent.update = meta.at("update");
    const int64_t S = meta.at("state_dim"), A = meta.at("act_dim");
    agent.model = DecisionPolicy(decision_config(agent.config, S, A));
    torch::serialize::InputArchive weights;
    archive.read("model", weights);
    agent.model->load(weights);
    archive.read("state_mean", agent.normalizer.mean);
    archive.read("state_inv_std", agent.normalizer.inv_std);
    if (agent.normalizer.mean.numel() != S || agent.normalizer.inv_std.numel() != S)
      throw std::runtime_error("normalisation statistics do not match state_dim " + std::to_string(S));
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(path + ": bad checkpoint metadata (" + std::string(e.what()) + ")");
  } catch (const c10::Error& e) {
    throw std::runtime_error(path + ": weights do not match the stored configuration (" +
                             e.msg().substr(0, e.msg().find('\n')) + ")");
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
  agent.model->eval();
  return agent;
}

RolloutResult evaluate_agent(DecisionPolicy model, const StateNormalizer& normalizer, const std::string& env,
                             double return_scale, double target_return, ActMode mode, int64_t episodes, uint64_t seed,
                             int64_t num_envs) {
  RolloutConfig rc;
  rc.env = env;
  rc.episodes = episodes;
  rc.num_envs = num_envs;
  rc.seed = seed;
  const int64_t n = num_envs > 0 ? std::min(num_envs, episodes) : std::min<int64_t>(episodes, 16);
  const bool was_training = model->is_training();
  model->eval();
  DecisionBatchPolicy policy(model, normalizer, return_scale, target_return, mode, n);
  auto result = run_rollout(rc, policy);
  if (was_training) model->train();
  return result;
}

TrainResult train_decision(const TrainConfig& config_in, const std::function<void(const TrainProgress&)>& progress) {
  TrainConfig c = config_in;
  c.validate();
  at::set_num_threads(c.threads);
  LoadedAgent resumed;
  if (!c.resume.empty()) {
    try {
      resumed = load_checkpoint(c.resume);
    } catch (const std::runtime_error& e) {
      throw std::invalid_argument(e.what());  // a bad input file, as for every command that loads one
    }
    // Continue the stored run: its architecture and data; the new updates
    // target, output folder and evaluation settings.
    TrainConfig stored = resumed.config;
    stored.updates = c.updates, stored.out_dir = c.out_dir, stored.eval_every = c.eval_every;
    stored.eval_episodes = c.eval_episodes, stored.checkpoint_every = c.checkpoint_every;
    stored.threads = c.threads, stored.resume = c.resume;
    c = stored;
    at::set_num_threads(c.threads);
  }
  std::filesystem::create_directories(c.out_dir);
  base::remove_stale_temp_files(c.out_dir);  // checkpoint_N.pt.tmp.<pid> of a killed run

  data::Transitions t;
  try {
    t = data::read_dataset_isolated(c.dataset);  // a file that crashes libhdf5 cannot take the run down
    for (const auto& w : t.warnings) std::cerr << "warning: " << w << "\n";
  } catch (const data::DataError& e) {
    throw std::invalid_argument(e.what());
  }
  const auto split = data::split_episodes(t);
  if (split.episodes.empty())
    throw std::invalid_argument(c.dataset + ": no complete episode (" + std::to_string(t.size) +
                                " transitions, none ends with a terminal, a timeout or the step limit)");
  const data::TrajectoryDataset dataset(t, split);
  // The environment for evaluation.
  std::string env = c.env;
  if (env.empty()) {
    auto it = t.metadata.find("env_name");
    if (it != t.metadata.end()) env = it->second;
  }
  if (env.empty()) {
    if (auto ref = envs::score_reference_for(c.dataset)) env = ref->env;
  }
  if (env.empty()) throw std::invalid_argument("--env: cannot tell the environment from the dataset; name it");
  const auto* spec = envs::resolve_env_name(env).spec;
  env = spec->name;
  c.env = env;
  // Found now, not at the first evaluation after all the training.
  if (spec->obs_dim != dataset.obs_dim() || spec->act_dim != dataset.act_dim())
    throw std::invalid_argument("--env " + env + ": observations/actions " + std::to_string(spec->obs_dim) + "/" +
                                std::to_string(spec->act_dim) + ", but " + c.dataset + " has " +
                                std::to_string(dataset.obs_dim()) + "/" + std::to_string(dataset.act_dim()));
  if (c.target_return == 0.0) c.target_return = default_target_return(env);

  StateNormalizer norm;
  norm.mean = torch::tensor(dataset.state_mean());
  norm.inv_std = torch::tensor(dataset.state_inv_std());  // the samplers' own factors

  torch::manual_seed(c.seed);
  DecisionPolicy model(decision_config(c, dataset.obs_dim(), dataset.act_dim()));
  if (resumed.model) {
    if (resumed.model->config().state_dim != dataset.obs_dim() || resumed.model->config().act_dim != dataset.act_dim())
      throw std::invalid_argument(c.resume + ": trained on other dims than " + c.dataset);
    torch::NoGradGuard no_grad;
    auto src = resumed.model->named_parameters();
    for (auto& p : model->named_parameters()) p.value().copy_(src[p.key()]);
  }
  const torch::Device device = parse_device("--device", c.device);
  const bool bf16 = c.precision == "bf16";
  model->to(device);
  torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(c.lr).weight_decay(c.weight_decay));
  data::BatchOptions batch_options;
  batch_options.return_scale = c.return_scale;
  batch_options.max_timestep = c.max_ep_len;
  data::WindowSampler windows(dataset, c.context, batch_options, c.seed);
  data::EpisodeSampler episodes(dataset, batch_options, c.seed);
  const bool is_aaren = c.backbone == "aaren";
  const bool whole_episodes = is_aaren && c.aaren_sampling == "episodes";

  int64_t start_update = 0;
  if (resumed.model) {
    nlohmann::json meta;
    auto archive = open_checkpoint(c.resume, meta);
    torch::serialize::InputArchive opt;
    c10::IValue sampler_rng;
    torch::Tensor torch_rng;
    if (!archive.try_read("optimizer", opt) || !archive.try_read("sampler_rng", sampler_rng) ||
        !archive.try_read("torch_rng", torch_rng))
      throw std::invalid_argument(c.resume + ": has no training state to resume from");
    optimizer.load(opt);
    (whole_episodes ? episodes.set_rng_state(sampler_rng.toStringRef())
                    : windows.set_rng_state(sampler_rng.toStringRef()));
    auto generator = at::detail::getDefaultCPUGenerator();  // a handle: sets the global one
    generator.set_state(torch_rng);
    start_update = resumed.update;
    if (start_update >= c.updates)
      throw std::invalid_argument("--updates " + std::to_string(c.updates) + " is not beyond the checkpoint's " +
                                  std::to_string(start_update));
  }

  std::ofstream log(c.out_dir + "/train_log.csv", start_update ? std::ios::app : std::ios::trunc);
  if (!start_update) log << "update,loss,lr,seconds,steps\n";  // steps: real env steps in the batch
  std::ofstream eval_log(c.out_dir + "/eval.csv", start_update ? std::ios::app : std::ios::trunc);
  if (!start_update) eval_log << "update,return_mean,return_std,score_mean,score_std\n";
  log.flush(), eval_log.flush();  // the headers are there even if the run is killed at once

  TrainResult result;
  result.dataset_return_mean = split.mean_return();
  // Checkpoints and evaluations use the weights on the CPU (rollouts step
  // one env at a time: no work for a GPU); Module::to moves the parameters
  // in place, so the optimiser keeps them.
  auto on_cpu = [&](const std::function<void()>& fn) {
    if (device.is_cpu()) return fn();
    model->to(torch::kCPU);
    fn();
    model->to(device);
  };
  auto checkpoint = [&](const std::string& path, int64_t update) {
    TrainingState ts{&optimizer, whole_episodes ? episodes.rng_state() : windows.rng_state(),
                     at::detail::getDefaultCPUGenerator().get_state()};
    on_cpu([&] { save_checkpoint(path, model, c, norm, env, update, &ts); });
  };
  auto evaluate = [&](int64_t update) {
    RolloutResult r;
    on_cpu([&] {
      r = evaluate_agent(model, norm, env, c.return_scale, c.target_return,
                         is_aaren ? ActMode::kRecurrent : ActMode::kWindow, c.eval_episodes,
                         c.seed + 1000 * static_cast<uint64_t>(update));
    });
    EvalResult e{update, mean_of(r.returns()), std_of(r.returns()), mean_of(r.normalized_scores()),
                 std_of(r.normalized_scores())};
    eval_log << update << "," << e.return_mean << "," << e.return_std << "," << e.score_mean << "," << e.score_std
             << "\n";
    eval_log.flush();
    result.evals.push_back(e);
    return e;
  };

  TrainProgress p;
  p.updates = c.updates;
  p.eval_return = p.eval_score = std::nan("");
  const double start = base::now_seconds();
  double window_start = start;
  int64_t window_update = start_update;
  auto params = model->parameters();
  model->train();
  for (int64_t update = start_update; update < c.updates; ++update) {
    const double lr = learning_rate(c, update);
    for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    optimizer.zero_grad();
    double loss_value = 0;
    int64_t batch_steps = 0;
    if (whole_episodes) {
      const auto batch = to_device(episodes.sample(c.aaren_batch), device);
      batch_steps = batch.mask.sum().item<int64_t>();
      const double count = static_cast<double>(batch_steps * dataset.act_dim());
      auto state = model->initial_state(batch.batch());
      torch::Tensor previous_action;  // fused layout: a_{t-1} across chunk boundaries (none at the episode start)
      for (const auto& chunk : data::EpisodeSampler::chunks(batch, c.chunk_steps)) {
        if (!chunk.mask.any().item<bool>()) break;  // only padding left
        torch::Tensor pred;
        {
          const AutocastScope amp(bf16, device);
          pred = model->forward(chunk.states, chunk.actions, chunk.returns_to_go, chunk.timesteps, chunk.mask, &state,
                                previous_action);
        }
        previous_action = chunk.actions.select(1, chunk.length() - 1);
        const auto loss = masked_mse_sum(pred, chunk.actions, chunk.mask) / count;
        loss.backward();
        state.detach_();
        loss_value += loss.item<double>();
      }
    } else {
      const auto batch = to_device(windows.sample(c.batch_size), device);
      batch_steps = batch.mask.sum().item<int64_t>();
      const double count = static_cast<double>(batch_steps * dataset.act_dim());
      torch::Tensor pred;
      {
        const AutocastScope amp(bf16, device);
        pred = model->forward(batch.states, batch.actions, batch.returns_to_go, batch.timesteps, batch.mask);
      }
      const auto loss = masked_mse_sum(pred, batch.actions, batch.mask) / count;
      loss.backward();
      loss_value = loss.item<double>();
    }
    torch::nn::utils::clip_grad_norm_(params, c.grad_clip);
    optimizer.step();
    const int64_t done = update + 1;
    p.update = done, p.loss = loss_value, p.lr = lr;
    log << done << "," << loss_value << "," << lr << "," << base::now_seconds() - start << "," << batch_steps << "\n";

    if (c.eval_every > 0 && done % c.eval_every == 0 && done < c.updates) {
      const auto e = evaluate(done);
      p.eval_return = e.return_mean, p.eval_score = e.score_mean;
    }
    if (c.checkpoint_every > 0 && done % c.checkpoint_every == 0)
      checkpoint(c.out_dir + "/checkpoint_" + std::to_string(done) + ".pt", done);
    log.flush();  // a killed run keeps its log, to the last update
    if (progress && (done % 10 == 0 || done == c.updates)) {
      const double t_now = base::now_seconds();
      p.updates_per_second = (done - window_update) / std::max(t_now - window_start, 1e-9);
      if (t_now - window_start > 5) window_start = t_now, window_update = done;
      p.eta_seconds = (c.updates - done) / std::max(p.updates_per_second, 1e-9);
      progress(p);
    }
  }
  log.flush();
  result.final_loss = p.loss;
  result.checkpoint = c.out_dir + "/checkpoint.pt";
  checkpoint(result.checkpoint, c.updates);
  const auto e = evaluate(c.updates);
  p.eval_return = e.return_mean, p.eval_score = e.score_mean;
  if (progress) progress(p);
  result.seconds = base::now_seconds() - start;
  return result;
}

}  // namespace aaren
