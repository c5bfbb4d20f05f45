// aaren envs: every environment the registry knows, with its dimensions.
#include <iomanip>
#include <iostream>

#include <nlohmann/json.hpp>

#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/config_options.h"
#include "envs/registry.h"

namespace aaren::cli {

int run_envs(int argc, char** argv) {
  ListingOptions settings;
  const bool& json = settings.json;
  boost::program_options::variables_map vm;
  if (!parse_config(argc, argv, "[--json]", ListingOptions::fields(), settings, vm)) return kExitOk;
  auto out = nlohmann::json::array();
  // The id names env and version; the robot's name is in the JSON.
  if (!json)
    std::cout << std::left << std::setw(27) << "id" << std::setw(6) << "obs" << std::setw(5) << "act" << std::setw(7)
              << "steps" << std::setw(22) << "references 0 / 100"
              << "semantics\n";
  for (const auto& s : envs::env_specs()) {
    const bool has_reference = s.reference.expert_return != s.reference.random_return;
    if (json) {
      out.push_back({{"name", s.name},
                     {"version", s.version},
                     {"gym_id", s.gym_id},
                     {"obs_dim", s.obs_dim},
                     {"act_dim", s.act_dim},
                     {"max_episode_steps", s.max_episode_steps},
                     {"ref_min_score", has_reference ? nlohmann::json(s.reference.random_return) : nlohmann::json()},
                     {"ref_max_score", has_reference ? nlohmann::json(s.reference.expert_return) : nlohmann::json()},
                     {"dt_targets",  // none published: train takes the data's best and mean returns
                      s.dt_target_high != 0 ? nlohmann::json{s.dt_target_high, s.dt_target_low} : nlohmann::json()},
                     {"description", s.description}});
      continue;
    }
    std::ostringstream refs;
    if (has_reference)
      refs << s.reference.random_return << " / " << s.reference.expert_return;
    else
      refs << "none (the data's)";
    std::cout << std::left << std::setw(27) << s.gym_id << std::setw(6) << s.obs_dim << std::setw(5) << s.act_dim
              << std::setw(7) << s.max_episode_steps << std::setw(22) << refs.str() << s.description << "\n";
  }
  if (json)
    std::cout << out.dump(2) << std::endl;
  else
    std::cout << "\nA bare name (hopper) and D4RL dataset names (hopper-medium-v2) mean v3, the version D4RL's data "
                 "were collected in. References: D4RL's (gym v3 returns) in every row; a Minari dataset's own "
                 "(ref_min_score, ref_max_score) take precedence for agents trained on it.\n";
  return kExitOk;
}

}  // namespace aaren::cli
