#include "envs/d4rl_scores.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "envs/registry.h"

namespace aaren::envs {

const std::vector<ScoreReference>& score_references() {
  static const std::vector<ScoreReference> refs = [] {
    std::vector<ScoreReference> r;
    for (const auto& spec : env_specs())
      if (spec.version == "v3") r.push_back(spec.reference);
    return r;
  }();
  return refs;
}

std::optional<ScoreReference> score_reference_for(const std::string& name_or_path) {
  std::string name = std::filesystem::path(name_or_path).filename().string();
  for (const char* ext : {".hdf5", ".h5"}) {
    const std::string e(ext);
    if (name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0)
      name.resize(name.size() - e.size());
  }
  std::string token = name.substr(0, name.find_first_of("-_"));
  std::transform(token.begin(), token.end(), token.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const auto& r : score_references())
    if (r.env == token) return r;
  return std::nullopt;
}

}  // namespace aaren::envs
