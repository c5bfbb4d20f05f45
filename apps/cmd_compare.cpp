// aaren compare: roll out trained agents side by side — score, time per env
// step and policy memory — each backbone in each of its acting modes.
#include <functional>
#include <iomanip>
#include <iostream>

#include <nlohmann/json.hpp>

#include "agents/acting/acting.h"
#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/config_options.h"
#include "apps/provenance.h"
#include "base/format.h"
#include "base/table.h"
#include "data/dataset_names.h"
#include "data/hdf5_io.h"

namespace aaren::cli {

namespace {
// The rows of one agent: its backbone in each of its ways to act (its
// descriptor's), one env at a time; also in the LibTorch-free runtime where
// the backbone has one (the same function: equal scores).
void compare_agent(base::Table& table, const std::string& path, const LoadedAgent& agent, int64_t episodes,
                   uint64_t seed, double target_return) {
  const auto& backbone = descriptor(agent.config.backbone);
  std::vector<ActingOptions> ways;
  ActingOptions acting;
  acting.batch_invariant = true;  // the episodes of train's evaluation and rollout, bit for bit
  acting.target_return = target_return;
  for (auto mode : backbone.act_modes) {
    acting.mode = mode;
    ways.push_back(acting);
  }
  if (backbone.lean_runtime && agent.config.condition_on_return) {  // the lean runtime conditions on the return
    acting.mode = ActMode::kRecurrent, acting.runtime = Runtime::kLean;
    ways.push_back(acting);
  }
  for (const auto& options : ways) {
    const std::string mode = to_string(options.mode);
    const std::string runtime = options.runtime == Runtime::kLean ? "lean" : "torch";
    const auto policy = make_agent_policy(agent, options, path);
    RolloutConfig rc;
    rc.env = agent.env;
    rc.reference = agent_score_reference(agent);
    rc.episodes = episodes;
    rc.num_envs = 1;
    rc.seed = seed;
    std::cerr << "[compare] " << to_string(agent.config.backbone) << " (" << mode << ", " << runtime
              << "): " << base::count_of(episodes, "episode") << "..." << std::endl;
    RolloutResult r;
    try {
      r = run_rollout(rc, *policy);
    } catch (const NonFiniteActionError& e) {
      const double target = acting_target_return(agent, options.target_return);
      throw non_finite_action(path, e.what(), agent.config.condition_on_return ? std::optional(target) : std::nullopt);
    }
    const double steps = static_cast<double>(std::max<int64_t>(r.env_steps, 1));
    table.add_row({path, to_string(agent.config.backbone), to_string(agent.config.tokens), mode, runtime,
                   acting_target_return(agent, options.target_return), mean_of(r.returns()), std_of(r.returns()),
                   mean_of(r.normalized_scores()), std_of(r.normalized_scores()), 1e6 * r.policy_seconds / steps,
                   1e6 * r.env_seconds / steps, policy->peak_state_bytes(), episodes});
  }
}
}  // namespace

// compare's settings, one described field each: its flags, --help, the
// config written beside --csv and docs/CLI-REFERENCE.md come from this table.
struct CompareOptions {
  std::vector<std::string> checkpoints;
  std::string dataset, csv;
  int64_t episodes = 10;
  uint64_t seed = 0;
  double target_return = 0.0;
  bool json = false;

  static const std::vector<base::ConfigField<CompareOptions>>& fields() {
    using O = CompareOptions;
    using base::field;
    static const std::vector<base::ConfigField<O>> table{
        field("checkpoint", &O::checkpoints, "agents from 'aaren train' (also as plain arguments)"),
        field("episodes", &O::episodes, "episodes per agent and mode (one env at a time)"),
        field("target-return", &O::target_return, "return to condition on (0: each checkpoint's evaluation target)"),
        field("dataset", &O::dataset, "also report this dataset's mean episode return"),
        field("seed", &O::seed, "env seed: episode e starts from a reset seeded with seed + e"),
        field("csv", &O::csv, "also write the table to this CSV file, and the settings beside it (FILE.config.json)"),
        field("json", &O::json, "print one JSON object", {"", false, std::nullopt, true}),
    };
    return table;
  }
};

int run_compare(int argc, char** argv) {
  CompareOptions o;
  boost::program_options::positional_options_description positional;
  positional.add("checkpoint", -1);
  boost::program_options::variables_map vm;
  if (!parse_config(argc, argv, "CHECKPOINT... [options]", CompareOptions::fields(), o, vm, &positional,
                    {"checkpoint"}))
    return kExitOk;
  const auto& [checkpoints, dataset, csv, episodes, seed, target_return, json] = o;
  at::set_num_threads(1);  // batch-1 acting: one thread (more only adds synchronisation for tiny matmuls)
  if (!csv.empty()) require_table_output("csv", csv, "compare");  // before the rollouts, not after them

  base::Table table;
  table.columns = {"checkpoint",         "backbone",        "tokens",           "mode",       "runtime",
                   "target_return",      "return_mean",     "return_std",       "score_mean", "score_std",
                   "policy_us_per_step", "env_us_per_step", "state_bytes_peak", "episodes"};
  double data_mean = std::nan("");
  if (!dataset.empty()) {
    try {
      data_mean = data::read_episode_data(data::resolve_dataset(dataset)).split.mean_return();
    } catch (const data::DataError& e) {
      throw InputError(e.what());
    }
  }
  std::vector<LoadedAgent> agents;  // every checkpoint read before the first rollout: a bad one fails at once
  for (const auto& path : checkpoints) {
    try {
      agents.push_back(load_checkpoint(path));
    } catch (const std::runtime_error& e) {
      throw InputError(e.what());
    }
  }
  for (size_t i = 0; i < agents.size(); ++i) {  // each agent's target, as it will act on it, before any rollout
    try {
      check_target_return(target_return != 0.0 ? "--target-return" : checkpoints[i] + ": its target_return",
                          acting_target_return(agents[i], target_return), agents[i].config.return_scale);
    } catch (const std::invalid_argument& e) {
      throw UsageError(e.what());
    }
  }
  for (size_t i = 0; i < checkpoints.size(); ++i)
    compare_agent(table, checkpoints[i], agents[i], episodes, seed, target_return);
  if (!csv.empty()) {
    table.write_csv(csv);
    save_config_next_to(csv, {{"command", "compare"},
                              {"config", base::fields_to_json(o, CompareOptions::fields())},
                              {"provenance", provenance(argc, argv)}});
  }
  if (json) {
    nlohmann::json out{{"rows", table.to_json()}, {"dataset_return_mean", data_mean}};
    std::cout << out.dump(2) << std::endl;
    return kExitOk;
  }
  std::cout << "\n" << table.format();
  if (!dataset.empty()) std::cout << "\ndataset mean episode return: " << data_mean << " (" << dataset << ")\n";
  std::cout << "policy_us_per_step: time in the policy per env step (batch 1, 1 thread); state_bytes_peak: what the\n"
               "policy keeps between steps (recurrent: Aaren's (m, u, w) per layer and head, the LSTM's (h, c)\n"
               "per layer; window: the K-step history; kvcache: the keys and values of every token so far).\n"
               "runtime lean: the agent in the LibTorch-free runtime (runtime/), the same function as its\n"
               "recurrent LibTorch row.\n";
  return kExitOk;
}

}  // namespace aaren::cli
