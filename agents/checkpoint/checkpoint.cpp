#include "agents/checkpoint/checkpoint.h"

#include <stdexcept>

#include <nlohmann/json.hpp>

#include "agents/checkpoint/sealed_archive.h"

namespace aaren {

namespace {
constexpr int64_t kCheckpointVersion = 1;

// The archive's metadata, with clear errors for a file that is not ours.
nlohmann::json read_meta(torch::serialize::InputArchive& archive, const std::string& path) {
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
    return nlohmann::json::parse(meta_text.toStringRef());
  } catch (const std::exception&) {
    throw std::runtime_error(path + ": the checkpoint's meta_json is not valid JSON");
  }
}

// The optimiser and generator states, if the file has them.
std::optional<TrainingSnapshot> read_training_state(torch::serialize::InputArchive& archive) {
  TrainingSnapshot s;
  s.optimizer = std::make_shared<torch::serialize::InputArchive>();
  c10::IValue sampler_rng;
  if (!archive.try_read("optimizer", *s.optimizer) || !archive.try_read("sampler_rng", sampler_rng) ||
      !archive.try_read("torch_rng", s.torch_rng) || !sampler_rng.isString())
    return std::nullopt;
  s.sampler_rng = sampler_rng.toStringRef();
  archive.try_read("rank_torch_rng", s.rank_torch_rng);  // written by data-parallel runs only
  return s;
}
}  // namespace

DecisionConfig decision_config(const TrainConfig& c, int64_t state_dim, int64_t act_dim) {
  DecisionConfig d;
  d.state_dim = state_dim, d.act_dim = act_dim, d.max_ep_len = c.max_ep_len, d.context = c.context;
  d.tokens = c.tokens;
  d.fused_norm = c.fused_norm;
  d.condition_on_return = c.condition_on_return;
  d.backbone.kind = c.backbone;
  d.backbone.d_model = c.embed_dim, d.backbone.n_layers = c.n_layers, d.backbone.n_heads = c.n_heads;
  d.backbone.dropout = c.dropout;
  d.backbone.recency = c.recency;
  return d;
}

void save_checkpoint(const std::string& path, const DecisionPolicy& model, const TrainConfig& config,
                     const StateNormalizer& normalizer, const std::string& env, int64_t update,
                     const TrainingStateRef* training) {
  torch::serialize::OutputArchive archive, weights;
  model->save(weights);
  archive.write("model", weights);
  archive.write("aaren_checkpoint_version", torch::tensor({kCheckpointVersion}));
  nlohmann::json meta{{"config", config.to_json()},
                      {"env", env},
                      {"backbone", to_string(config.backbone)},
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
    if (training->rank_torch_rng.defined()) archive.write("rank_torch_rng", training->rank_torch_rng);
  }
  save_sealed_archive(archive, path);
}

namespace {

// Weights that hold NaN or inf act with NaN (the env then refuses the action; a lean export
// would copy them): refused at load, naming the tensor, so every command that reads a checkpoint
// says so in one line. Training stops at a loss that is not finite, so only a damaged file or
// one written by a build before that check can hold them.
void require_finite_weights(const LoadedAgent& agent, const std::string& path) {
  auto check = [&](const std::string& name, const torch::Tensor& t) {
    if (t.defined() && t.is_floating_point() && !torch::isfinite(t).all().item<bool>())
      throw std::runtime_error(path + ": " + name +
                               " holds values that are not finite (NaN or inf): the run that wrote it diverged");
  };
  for (const auto& p : agent.model->named_parameters()) check("weight " + p.key(), p.value());
  for (const auto& b : agent.model->named_buffers()) check("buffer " + b.key(), b.value());
  check("state_mean", agent.normalizer.mean);
  check("state_inv_std", agent.normalizer.inv_std);
}

}  // namespace

LoadedAgent load_checkpoint(const std::string& path) {
  auto archive = load_sealed_archive(path, "checkpoint");
  const nlohmann::json meta = read_meta(archive, path);
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
    agent.training = read_training_state(archive);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(path + ": bad checkpoint metadata (" + std::string(e.what()) + ")");
  } catch (const c10::Error& e) {
    throw std::runtime_error(path + ": weights do not match the stored configuration (" + torch_error_line(e) + ")");
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(path + ": bad checkpoint metadata (" + std::string(e.what()) + ")");
  }
  require_finite_weights(agent, path);
  agent.model->eval();
  return agent;
}

}  // namespace aaren
