// aaren backbones: every backbone the registry knows (agents/models/backbones.h),
// with how it trains and acts.
#include <iomanip>
#include <iostream>

#include <nlohmann/json.hpp>

#include "agents/models/backbones.h"
#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/config_options.h"

namespace aaren::cli {

int run_backbones(int argc, char** argv) {
  ListingOptions settings;
  const bool& json = settings.json;
  boost::program_options::variables_map vm;
  if (!parse_config(argc, argv, "[--json]", ListingOptions::fields(), settings, vm)) return kExitOk;
  auto out = nlohmann::json::array();
  if (!json)
    std::cout << std::left << std::setw(13) << "backbone" << std::setw(21) << "acts (default first)" << std::setw(19)
              << "trains on" << std::setw(6) << "lean"
              << "\n";
  for (const auto& d : backbone_descriptors()) {
    std::vector<std::string> modes;
    for (auto m : d.act_modes) modes.push_back(to_string(m));
    const std::string trains = d.trains_on_episodes ? "episodes, windows" : "windows";
    if (json) {
      out.push_back(
          {{"name", d.name},
           {"act_modes", modes},
           {"trains_on", d.trains_on_episodes ? nlohmann::json{"episodes", "windows"} : nlohmann::json{"windows"}},
           {"lean_runtime", d.lean_runtime},
           {"summary", d.summary}});
      continue;
    }
    std::string acts;
    for (const auto& m : modes) acts += (acts.empty() ? "" : ", ") + m;
    std::cout << std::left << std::setw(13) << d.name << std::setw(21) << acts << std::setw(19) << trains
              << std::setw(6) << (d.lean_runtime ? "yes" : "no") << "\n    " << d.summary << "\n";
  }
  if (json)
    std::cout << out.dump(2) << std::endl;
  else
    std::cout << "\nEvery backbone can also act on a window (--mode window: its last K steps re-run). 'trains on': "
                 "whole episodes with the state carried between chunks (train --aaren-sampling episodes, the "
                 "default where it can), or DT's windows. 'lean': aaren export writes it for the LibTorch-free "
                 "runtime.\n";
  return kExitOk;
}

}  // namespace aaren::cli
