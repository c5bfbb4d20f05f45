// aaren envs: every environment the registry knows, with its dimensions.
#include <iomanip>
#include <iostream>

#include <nlohmann/json.hpp>

#include "apps/cli.h"
#include "apps/commands.h"
#include "envs/registry.h"

namespace aaren::cli {

int run_envs(int argc, char** argv) {
  namespace po = boost::program_options;
  bool json = false;
  po::options_description options("Options");
  options.add_options()("json", po::bool_switch(&json), "print a JSON array");
  po::variables_map vm;
  if (!parse(argc, argv, "[--json]", options, vm)) return kExitOk;
  auto out = nlohmann::json::array();
  if (!json)
    std::cout << std::left << std::setw(13) << "name" << std::setw(16) << "gym id" << std::setw(6) << "obs"
              << std::setw(5) << "act" << std::setw(22) << "D4RL random/expert" << "notes\n";
  for (const auto& s : envs::env_specs()) {
    const auto ref = envs::score_reference(s.name);
    if (json) {
      out.push_back({{"name", s.name},
                     {"gym_id", s.gym_id},
                     {"obs_dim", s.obs_dim},
                     {"act_dim", s.act_dim},
                     {"ref_min_score", ref.random_return},
                     {"ref_max_score", ref.expert_return},
                     {"description", s.description}});
      continue;
    }
    std::ostringstream refs;
    refs << ref.random_return << " / " << ref.expert_return;
    std::cout << std::left << std::setw(13) << s.name << std::setw(16) << s.gym_id << std::setw(6) << s.obs_dim
              << std::setw(5) << s.act_dim << std::setw(22) << refs.str() << s.description << "\n";
  }
  if (json)
    std::cout << out.dump(2) << std::endl;
  else
    std::cout << "\nAlso accepted: gym ids (Hopper-v3; Ant-v4 for gymnasium's Ant) and D4RL dataset names "
                 "(hopper-medium-v2, walker2d-medium-replay-v2, ...).\n";
  return kExitOk;
}

}  // namespace aaren::cli
