// aaren rollout: run a policy in an environment and report returns and
// D4RL normalised scores.
#include <iomanip>
#include <iostream>

#include <nlohmann/json.hpp>

#include "agents/decision_trainer.h"
#include "agents/lean_export.h"
#include "agents/rollout.h"
#include "apps/cli.h"
#include "apps/commands.h"

namespace aaren::cli {

namespace {
int report_rollout(const RolloutResult& result, const RolloutConfig& config, const std::string& policy_name,
                   const std::string& backbone, const std::string& tokens, const std::string& mode,
                   double target_return,
                   int64_t state_bytes_last, bool json);
}  // namespace

int run_rollout(int argc, char** argv) {
  namespace po = boost::program_options;
  RolloutConfig config;
  std::string policy = "random", checkpoint, mode = "recurrent", runtime = "torch";
  double target_return = 0.0;
  int torch_threads = 1;
  bool json = false;
  po::options_description options("Options");
  options.add_options()
      ("env", po::value(&config.env), "environment (see 'aaren envs'); default with --checkpoint: its env")
      ("policy", po::value(&policy)->default_value(policy), "policy without a checkpoint: random")
      ("checkpoint", po::value(&checkpoint), "a trained agent from 'aaren train'")
      ("target-return", po::value(&target_return)->default_value(0.0),
       "return to condition on (0: the checkpoint's evaluation target)")
      ("mode", po::value(&mode)->default_value(mode),
       "recurrent (Aaren's state / the Transformer's KV cache carried over the episode), window (DT: last K "
       "steps re-run), kvcache (Transformer)")
      ("runtime", po::value(&runtime)->default_value(runtime),
       "torch (LibTorch, every mode) or lean (the LibTorch-free runtime; Aaren, recurrent)")
      ("torch-threads", po::value(&torch_threads)->default_value(torch_threads), "LibTorch threads for the policy")
      ("episodes", po::value(&config.episodes)->default_value(config.episodes), "episodes to run")
      ("seed", po::value(&config.seed)->default_value(config.seed), "seed (env i gets seed + i)")
      ("num-envs", po::value(&config.num_envs)->default_value(config.num_envs),
       "envs stepped together (0: min(episodes, 16))")
      ("threads", po::value(&config.threads)->default_value(config.threads), "threads stepping the envs")
      ("model-xml", po::value(&config.env_options.model_xml), "MJCF file to use instead of the built-in model")
      ("json", po::bool_switch(&json), "print one JSON object");
  po::variables_map vm;
  if (!parse(argc, argv, "(--env NAME --policy random | --checkpoint FILE) [options]", options, vm))
    return kExitOk;
  // RolloutConfig's own default env must not override the checkpoint's.
  if (!vm.count("env")) config.env.clear();
  if (checkpoint.empty() && policy != "random")
    throw UsageError("--policy must be 'random'; trained agents are given with --checkpoint FILE");
  if (checkpoint.empty() && config.env.empty()) throw UsageError("--env is required without --checkpoint");
  if (config.episodes < 1) throw UsageError("--episodes must be >= 1");
  if (config.threads < 1) throw UsageError("--threads must be >= 1");
  if (runtime != "torch" && runtime != "lean") throw UsageError("--runtime must be torch or lean, got '" + runtime + "'");
  if (runtime == "lean" && checkpoint.empty()) throw UsageError("--runtime lean needs --checkpoint");
  if (runtime == "lean" && mode != "recurrent") throw UsageError("--runtime lean runs --mode recurrent only");

  RolloutResult result;
  int64_t state_bytes_last = 0;
  std::string backbone, tokens;
  try {
    if (checkpoint.empty()) {
      RandomPolicy random_policy(config.seed + 1000003);
      result = aaren::run_rollout(config, random_policy);
    } else {
      at::set_num_threads(torch_threads);
      LoadedAgent agent;
      try {
        agent = load_checkpoint(checkpoint);
      } catch (const std::runtime_error& e) {
        throw InputError(e.what());
      }
      if (config.env.empty()) config.env = agent.env;
      auto env_probe = envs::make_env(config.env, config.env_options);
      if (env_probe->obs_dim() != agent.model->config().state_dim || env_probe->act_dim() != agent.model->config().act_dim)
        throw InputError(checkpoint + ": trained for obs/act dims " + std::to_string(agent.model->config().state_dim) +
                         "/" + std::to_string(agent.model->config().act_dim) + ", env " + config.env + " has " +
                         std::to_string(env_probe->obs_dim()) + "/" + std::to_string(env_probe->act_dim()));
      if (target_return == 0.0) target_return = agent.config.target_return;
      ActMode act_mode;
      try {
        act_mode = parse_act_mode(mode);
      } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
      }
      backbone = agent.config.backbone;
      tokens = agent.config.tokens;
      const int64_t n = config.num_envs > 0 ? std::min(config.num_envs, config.episodes)
                                            : std::min<int64_t>(config.episodes, 16);
      config.num_envs = n;
      if (runtime == "lean") {
        std::shared_ptr<const lean::Model> model;
        try {
          model = lean_model_of(agent, checkpoint);
        } catch (const std::exception& e) {
          throw UsageError(e.what());  // a Transformer agent
        }
        LeanBatchPolicy lean_policy(model, target_return, n);
        result = aaren::run_rollout(config, lean_policy);
        state_bytes_last = lean_policy.state_bytes();
        return report_rollout(result, config, checkpoint, backbone, tokens, "recurrent (lean runtime)",
                              target_return, state_bytes_last, json);
      }
      std::unique_ptr<DecisionBatchPolicy> p;
      try {
        p = std::make_unique<DecisionBatchPolicy>(agent.model, agent.normalizer, agent.config.return_scale,
                                                  target_return, act_mode, n);
      } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
      }
      result = aaren::run_rollout(config, *p);
      state_bytes_last = p->state_bytes();
    }
  } catch (const envs::EnvError& e) {
    throw InputError(e.what());
  }
  return report_rollout(result, config, checkpoint.empty() ? policy : checkpoint, backbone, tokens,
                        checkpoint.empty() ? "" : mode, target_return, state_bytes_last, json);
}

namespace {
int report_rollout(const RolloutResult& result, const RolloutConfig& config, const std::string& policy_name,
                   const std::string& backbone, const std::string& tokens, const std::string& mode,
                   double target_return,
                   int64_t state_bytes_last, bool json) {
  const auto returns = result.returns(), lengths = result.lengths(), scores = result.normalized_scores();
  const nlohmann::json resolved{{"env", config.env},         {"policy", policy_name},
                                {"backbone", backbone},        {"tokens", tokens},     {"mode", mode},
                                {"target_return", target_return},
                                {"episodes", config.episodes}, {"seed", config.seed},
                                {"num_envs", config.num_envs}, {"threads", config.threads},
                                {"model_xml", config.env_options.model_xml}};
  const double steps = static_cast<double>(std::max<int64_t>(result.env_steps, 1));
  const double us_per_step = 1e6 * result.env_seconds / steps;
  const double policy_us_per_step = 1e6 * result.policy_seconds / steps;
  if (json) {
    nlohmann::json warnings = nlohmann::json::array();
    for (const auto& e : result.episodes)
      if (e.unstable) warnings.push_back({{"env_index", e.env_index}, {"warning", e.warning}});
    nlohmann::json out{{"config", resolved},
                       {"returns", returns},
                       {"lengths", lengths},
                       {"normalized_scores", scores},
                       {"return_mean", mean_of(returns)},
                       {"return_std", std_of(returns)},
                       {"normalized_score_mean", mean_of(scores)},
                       {"normalized_score_std", std_of(scores)},
                       {"env_steps", result.env_steps},
                       {"seconds", result.seconds},
                       {"env_us_per_step", us_per_step},
                       {"policy_us_per_step", policy_us_per_step},
                       {"policy_state_bytes", state_bytes_last},
                       {"unstable_episodes", warnings}};
    std::cout << out.dump(2) << std::endl;
    return kExitOk;
  }
  std::cout << "config: " << resolved.dump() << "\n\n";
  std::cout << std::fixed << std::setprecision(2);
  std::cout << "episode  env  return     length  normalised  end\n";
  for (size_t k = 0; k < result.episodes.size(); ++k) {
    const auto& e = result.episodes[k];
    std::cout << std::setw(7) << k << "  " << std::setw(3) << e.env_index << "  " << std::setw(9) << e.episode_return
              << "  " << std::setw(6) << e.length << "  " << std::setw(10) << scores[k] << "  "
              << (e.unstable ? "unstable: " + e.warning : e.terminated ? "terminated" : "time limit") << "\n";
  }
  std::cout << "\nreturn      " << mean_of(returns) << " +- " << std_of(returns) << "\n"
            << "length      " << mean_of(lengths) << " +- " << std_of(lengths) << "\n"
            << "normalised  " << mean_of(scores) << " +- " << std_of(scores) << "  (" << result.reference.env
            << ": random " << result.reference.random_return << ", expert " << result.reference.expert_return
            << ")\n"
            << "time        " << result.seconds << " s in all; per env step: env " << us_per_step << " us, policy "
            << policy_us_per_step << " us (for " << (config.num_envs > 0 ? config.num_envs : 1)
            << " envs together)\n";
  if (!mode.empty())
    std::cout << "memory      policy state " << state_bytes_last << " bytes at the end (" << mode << ")\n";
  return kExitOk;
}

}  // namespace

}  // namespace aaren::cli
