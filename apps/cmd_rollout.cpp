// aaren rollout: run a policy in an environment and report returns and
// D4RL normalised scores.
#include <iomanip>
#include <iostream>

#include <nlohmann/json.hpp>

#include "agents/rollout.h"
#include "apps/cli.h"
#include "apps/commands.h"

namespace aaren::cli {

int run_rollout(int argc, char** argv) {
  namespace po = boost::program_options;
  RolloutConfig config;
  std::string policy = "random";
  bool json = false;
  po::options_description options("Options");
  options.add_options()
      ("env", po::value(&config.env)->required(), "environment (see 'aaren envs')")
      ("policy", po::value(&policy)->default_value(policy), "policy: random")
      ("episodes", po::value(&config.episodes)->default_value(config.episodes), "episodes to run")
      ("seed", po::value(&config.seed)->default_value(config.seed), "seed (env i gets seed + i)")
      ("num-envs", po::value(&config.num_envs)->default_value(config.num_envs),
       "envs stepped together (0: min(episodes, 16))")
      ("threads", po::value(&config.threads)->default_value(config.threads), "threads stepping the envs")
      ("model-xml", po::value(&config.env_options.model_xml), "MJCF file to use instead of the built-in model")
      ("json", po::bool_switch(&json), "print one JSON object");
  po::variables_map vm;
  if (!parse(argc, argv, "--env NAME [options]", options, vm)) return kExitOk;
  if (policy != "random") throw UsageError("--policy must be 'random' (trained checkpoints come with the agent)");
  if (config.episodes < 1) throw UsageError("--episodes must be >= 1");
  if (config.threads < 1) throw UsageError("--threads must be >= 1");

  RolloutResult result;
  try {
    RandomPolicy random_policy(config.seed + 1000003);
    result = aaren::run_rollout(config, random_policy);
  } catch (const envs::EnvError& e) {
    throw InputError(e.what());
  }
  const auto returns = result.returns(), lengths = result.lengths(), scores = result.normalized_scores();
  const nlohmann::json resolved{{"env", config.env},         {"policy", policy},
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
            << policy_us_per_step << " us\n";
  return kExitOk;
}

}  // namespace aaren::cli
