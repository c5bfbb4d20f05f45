// aaren loss: a trained agent's action error (DT's loss, dropout off, no
// update) on a dataset: on its training file, its fit; on fresh episodes of the
// same behaviour policy (`aaren collect` with another seed), its error on unseen
// data from the same distribution. The gap says how far training overfitted.
#include <torch/torch.h>

#include <iostream>

#include <nlohmann/json.hpp>

#include "agents/models/device.h"
#include "agents/training/action_loss.h"
#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/config_options.h"
#include "apps/provenance.h"
#include "base/format.h"
#include "data/dataset_names.h"
#include "data/hdf5_io.h"

namespace aaren::cli {

namespace {
// loss's settings, one described field each (flags, --help, docs/CLI-REFERENCE.md).
struct LossOptions {
  std::string checkpoint, dataset;
  int64_t batches = 200;
  int64_t seed = 0;
  int64_t threads = 1;
  bool json = false;

  static const std::vector<base::ConfigField<LossOptions>>& fields() {
    using O = LossOptions;
    static const std::vector<base::ConfigField<O>> table{
        base::field("checkpoint", &O::checkpoint, "an agent from 'aaren train'"),
        base::field("dataset", &O::dataset,
                    "a D4RL- or Minari-layout .hdf5 with the agent's state and action sizes (its states "
                    "normalised with the agent's training statistics)"),
        base::field("batches", &O::batches,
                    "an agent trained on DT's windows: batches of its batch size drawn (an agent trained on whole "
                    "episodes is measured on every episode once)"),
        base::field("seed", &O::seed, "random seed of the windows drawn"),
        base::field("threads", &O::threads, "LibTorch threads"),
        base::field("json", &O::json, "print one JSON object instead of the line", {"", false, std::nullopt, true}),
    };
    return table;
  }
};

data::TrajectoryDataset read_measured_data(const std::string& path, const LoadedAgent& agent) {
  data::EpisodeData d;
  try {
    d = data::read_episode_data(data::resolve_dataset(path));  // a file, or a D4RL or Minari name
  } catch (const data::DataError& e) {
    throw InputError(e.what());
  }
  for (const auto& w : d.transitions.warnings) std::cerr << "warning: " << w << "\n";
  data::TrajectoryDataset dataset(d.transitions, d.split);
  const auto& n = agent.normalizer;
  const auto as_vector = [](const torch::Tensor& x) {
    const auto c = x.to(torch::kFloat).contiguous();
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  };
  if (dataset.obs_dim() != n.mean.numel())
    throw InputError(path + ": " + std::to_string(dataset.obs_dim()) + "-dim states; the agent's have " +
                     std::to_string(n.mean.numel()));
  dataset.use_state_statistics(as_vector(n.mean), as_vector(n.inv_std));
  return dataset;
}
}  // namespace

int run_loss(int argc, char** argv) {
  LossOptions o;
  boost::program_options::variables_map vm;
  if (!parse_config(argc, argv, "--checkpoint FILE --dataset FILE.hdf5 [options]", LossOptions::fields(), o, vm,
                    nullptr, {"checkpoint", "dataset"}))
    return kExitOk;
  if (o.batches <= 0) throw UsageError("--batches must be > 0, got " + std::to_string(o.batches));
  set_cpu_threads(static_cast<int>(o.threads));
  LoadedAgent agent;
  try {
    agent = load_checkpoint(o.checkpoint);
  } catch (const std::runtime_error& e) {
    throw InputError(e.what());
  }
  const auto dataset = read_measured_data(o.dataset, agent);
  ActionLoss loss;
  try {
    loss = action_loss(agent, dataset, o.batches, static_cast<uint64_t>(o.seed));
  } catch (const std::invalid_argument& e) {
    throw InputError(o.dataset + ": " + e.what());
  }
  if (o.json) {
    nlohmann::json j{{"checkpoint", o.checkpoint},
                     {"dataset", o.dataset},
                     {"update", agent.update},
                     {"backbone", to_string(agent.config.backbone)},
                     {"regime", loss.regime},
                     {"mse", loss.mse},
                     {"std_error", loss.std_error},
                     {"batches", loss.batches},
                     {"steps", loss.steps},
                     {"seed", o.seed},
                     {"provenance", provenance(argc, argv)}};
    std::cout << j.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << o.dataset << ": action MSE " << loss.mse << " +- " << loss.std_error << " (standard error over "
            << loss.batches << (loss.batches == 1 ? " batch" : " batches") << " of " << loss.regime << ", "
            << base::count_of(loss.steps, "step") << "; " << o.checkpoint << ", update " << agent.update
            << ", dropout off)\n";
  return kExitOk;
}

}  // namespace aaren::cli
