#include "data/dataset_names.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <regex>

#include "base/did_you_mean.h"
#include "data/transitions.h"

namespace aaren::data {

namespace fs = std::filesystem;

namespace {

std::string home_path(const char* variable, const std::string& below_home) {
  if (const char* set = std::getenv(variable); set && *set) return set;
  const char* home = std::getenv("HOME");
  return (fs::path(home && *home ? home : ".") / below_home).string();
}

// D4RL's download names for a dataset name, most likely first.
std::vector<std::string> d4rl_file_names(const std::string& name) {
  std::vector<std::string> names;
  static const std::regex pattern("([a-z0-9]+)-([a-z-]+)-v([0-9]+)");
  std::smatch m;
  if (std::regex_match(name, m, pattern)) {
    std::string kind = m[2].str();
    std::replace(kind.begin(), kind.end(), '-', '_');
    if (m[3].str() == "0")
      names.push_back(m[1].str() + "_" + (kind == "medium_replay" ? std::string("mixed") : kind) + ".hdf5");
    else
      names.push_back(m[1].str() + "_" + kind + "-v" + m[3].str() + ".hdf5");
  }
  names.push_back(name + ".hdf5");
  return names;
}

// The names D4RL and Minari publish for the MuJoCo locomotion datasets (D4RL's
// gym tasks, Minari's mujoco/ namespace), for suggestions when a name is misspelt.
std::vector<std::string> dataset_names() {
  std::vector<std::string> names;
  for (const char* env : {"hopper", "halfcheetah", "walker2d", "ant"}) {
    for (const char* quality : {"random", "medium", "expert", "medium-replay", "medium-expert", "full-replay"})
      for (const char* version : {"v0", "v1", "v2"}) names.push_back(std::string(env) + "-" + quality + "-" + version);
    for (const char* quality : {"simple", "medium", "expert"})
      names.push_back(std::string("mujoco/") + env + "/" + quality + "-v0");
  }
  return names;
}

bool is_minari_dataset(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "data" / "main_data.hdf5", ec) || fs::is_regular_file(dir / "main_data.hdf5", ec);
}

}  // namespace

std::string d4rl_dataset_dir() { return home_path("D4RL_DATASET_DIR", ".d4rl/datasets"); }

std::string minari_datasets_dir() { return home_path("MINARI_DATASETS_PATH", ".minari/datasets"); }

std::string resolve_dataset(const std::string& name) {
  std::error_code ec;
  if (name.empty() || fs::exists(name, ec)) return name;  // (a missing path is reported by the reader)
  const bool path_like = name.find(".hdf5") != std::string::npos || name.find(".h5") != std::string::npos ||
                         name.rfind("/", 0) == 0 || name.rfind(".", 0) == 0;
  if (path_like) return name;
  const std::string d4rl = d4rl_dataset_dir(), minari = minari_datasets_dir();
  const auto candidates = d4rl_file_names(name);
  for (const auto& file : candidates)
    if (fs::is_regular_file(fs::path(d4rl) / file, ec)) return (fs::path(d4rl) / file).string();
  if (is_minari_dataset(fs::path(minari) / name)) return (fs::path(minari) / name).string();
  throw DataError("dataset '" + name + "'" + base::did_you_mean(name, dataset_names()) +
                  ": no such file, no D4RL dataset " + candidates.front() + " in " + d4rl +
                  " ($D4RL_DATASET_DIR), no Minari dataset " + name + " in " + minari +
                  " ($MINARI_DATASETS_PATH); see 'aaren data list'");
}

std::vector<FoundDataset> list_datasets() {
  std::vector<FoundDataset> found;
  std::error_code ec;
  static const std::regex d4rl_v1("([a-z0-9]+)_([a-z_]+)-v([0-9]+)\\.hdf5");
  static const std::regex d4rl_v0("([a-z0-9]+)_([a-z_]+)\\.hdf5");
  const fs::path d4rl(d4rl_dataset_dir());
  for (const auto& entry : fs::directory_iterator(d4rl, ec)) {
    const auto file = entry.path().filename().string();
    if (!entry.is_regular_file(ec) || entry.path().extension() != ".hdf5") continue;
    std::smatch m;
    std::string name = file.substr(0, file.size() - 5);
    auto dashed = [](std::string s) { return std::replace(s.begin(), s.end(), '_', '-'), s; };
    if (std::regex_match(file, m, d4rl_v1))
      name = m[1].str() + "-" + dashed(m[2].str()) + "-v" + m[3].str();
    else if (std::regex_match(file, m, d4rl_v0))
      name = m[1].str() + "-" + (m[2].str() == "mixed" ? std::string("medium-replay") : dashed(m[2].str())) + "-v0";
    found.push_back({name, "D4RL", entry.path().string()});
  }
  const size_t d4rl_count = found.size();
  const fs::path minari(minari_datasets_dir());
  for (auto it = fs::recursive_directory_iterator(minari, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (!it->is_directory(ec) || !is_minari_dataset(it->path())) continue;
    found.push_back({fs::relative(it->path(), minari, ec).string(), "Minari", it->path().string()});
    it.disable_recursion_pending();  // a dataset's own folders hold no datasets
  }
  auto by_name = [](const FoundDataset& a, const FoundDataset& b) { return a.name < b.name; };
  std::sort(found.begin(), found.begin() + static_cast<std::ptrdiff_t>(d4rl_count), by_name);
  std::sort(found.begin() + static_cast<std::ptrdiff_t>(d4rl_count), found.end(), by_name);
  return found;
}

}  // namespace aaren::data
