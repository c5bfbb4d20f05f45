#include "envs/d4rl_scores.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

namespace aaren::envs {

const std::vector<ScoreReference>& score_references() {
  // d4rl/infos.py REF_MIN_SCORE / REF_MAX_SCORE (the same for every dataset of an env).
  static const std::vector<ScoreReference> refs{
      {"hopper", -20.272305, 3234.3},
      {"halfcheetah", -280.178953, 12135.0},
      {"walker2d", 1.629008, 4592.3},
      {"ant", -325.6, 3879.7},
  };
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
