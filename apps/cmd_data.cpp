// aaren data inspect|validate FILE: what a D4RL/Minari file holds, or whether it loads.
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>

#include "agents/training/collect.h"
#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/config_options.h"
#include "apps/provenance.h"
#include "data/dataset_names.h"
#include "data/hdf5_io.h"
#include "data/summary.h"
#include "envs/registry.h"

namespace aaren::cli {

namespace po = boost::program_options;

namespace {

// Read in a child process: a damaged file that crashes or stalls libhdf5
// gives one line and exit 2 instead of taking this process down.
// A file, a Minari folder, or a dataset name (data/dataset_names.h).
data::Transitions load(const std::string& name) {
  try {
    auto t = data::read_dataset_isolated(data::resolve_dataset(name));
    for (const auto& w : t.warnings) std::cerr << "warning: " << w << "\n";
    return t;
  } catch (const data::DataError& e) {
    throw InputError(e.what());
  }
}

// The env row and score references `data inspect` reports: --env, else the
// dataset's metadata, else its file name; the references: the dataset's own,
// else the row's.
struct InspectedEnv {
  const envs::EnvSpec* row = nullptr;
  std::string source;
  std::optional<envs::ScoreReference> ref;
  std::string ref_source;
};
InspectedEnv inspect_env(const std::string& env, const data::Transitions& t, const std::string& file) {
  InspectedEnv e;
  if (!env.empty()) {
    try {
      e.row = envs::resolve_env_name(env).spec;
    } catch (const envs::EnvError& error) {
      throw UsageError("--env '" + env + "': " + error.what());
    }
    e.source = "--env";
  } else if (const auto found = envs::dataset_env(t.metadata, file)) {
    e.row = &envs::env_spec(found->env);
    e.source = found->source + (found->note.empty() ? "" : "; " + found->note);
  }
  if (e.row) {
    // The dataset's own references score its own env only (--env another: the row's).
    const auto recorded = envs::dataset_env(t.metadata, file);
    const bool own_env = recorded && envs::env_spec(recorded->env).gym_id == e.row->gym_id;
    const auto r = envs::dataset_reference(own_env ? t.metadata : std::map<std::string, std::string>{}, *e.row);
    e.ref = r.reference, e.ref_source = r.source;
  }
  return e;
}

// data inspect's settings, one described field each (flags, --help, docs/CLI-REFERENCE.md).
struct InspectOptions {
  std::string dataset, env;
  bool keep_partial = false, json = false;

  static const std::vector<base::ConfigField<InspectOptions>>& fields() {
    using O = InspectOptions;
    using base::field;
    static const std::vector<base::ConfigField<O>> table{
        field("dataset", &O::dataset,
              "D4RL .hdf5 file, Minari main_data.hdf5 or dataset folder, or a dataset name (hopper-medium-v2, "
              "mujoco/hopper/medium-v0: see 'aaren data list'; also as a plain argument)"),
        field("env", &O::env, "environment for the normalised score (default: from metadata or the file name)"),
        field("keep-partial", &O::keep_partial, "count a trailing unfinished episode as an episode",
              {"", false, std::nullopt, true}),
        field("json", &O::json, "print one JSON object", {"", false, std::nullopt, true}),
    };
    return table;
  }
};

int run_inspect(int argc, char** argv) {
  InspectOptions settings;
  po::positional_options_description positional;
  positional.add("dataset", 1);
  po::variables_map vm;
  if (!parse_config(argc, argv, "FILE [options]", InspectOptions::fields(), settings, vm, &positional, {"dataset"}))
    return kExitOk;
  const auto& [file, env, keep_partial, json] = settings;

  const auto t = load(file);
  const auto split = data::split_episodes(t, keep_partial);
  const auto summary = data::summarize(t, split);

  const auto [row, env_source, ref, ref_source] = inspect_env(env, t, file);
  auto j = summary.to_json();
  j["file"] = file;
  j["env"] = row ? nlohmann::json(row->gym_id) : nlohmann::json();
  if (ref) {
    j["env_source"] = env_source;
    j["ref_min_score"] = ref->random_return;
    j["ref_max_score"] = ref->expert_return;
    j["reference_source"] = ref_source;
    j["score_min"] = ref->normalize(summary.returns.min);
    j["score_mean"] = ref->normalize(summary.returns.mean);
    j["score_max"] = ref->normalize(summary.returns.max);
  }
  if (json) {
    std::cout << j.dump(2) << std::endl;
    return kExitOk;
  }

  auto& o = std::cout;
  o << std::fixed << std::setprecision(2);
  o << "file          " << file << "\n";
  o << "transitions   " << summary.transitions << "\n";
  o << "obs / act dim " << summary.obs_dim << " / " << summary.act_dim << "\n";
  o << "episodes      " << summary.episodes << " (" << summary.episodes_terminal << " terminated, "
    << summary.episodes_timeout << " timed out)\n";
  o << "partial       " << summary.partial_steps << " trailing steps without an episode end"
    << (summary.partial_steps ? (summary.partial_kept ? " (kept as an episode)" : " (dropped)") : "") << "\n";
  o << "episode ends  " << summary.episode_rule << "\n";
  o << "returns       min " << summary.returns.min << "  mean " << summary.returns.mean << "  max "
    << summary.returns.max << "  std " << summary.returns.std << "\n";
  o << "lengths       min " << summary.lengths.min << "  mean " << summary.lengths.mean << "  max "
    << summary.lengths.max << "\n";
  if (ref)
    o << "score         min " << ref->normalize(summary.returns.min) << "  mean "
      << ref->normalize(summary.returns.mean) << "  max " << ref->normalize(summary.returns.max) << "  (" << row->gym_id
      << ", from " << env_source << "; references " << ref->random_return << " / " << ref->expert_return << ", "
      << ref_source << ")\n";
  else
    o << "score         unknown environment (use --env)\n";
  o << "dtypes       ";
  for (const auto& [k, v] : summary.dtypes) o << " " << k << "=" << v;
  o << "\n";
  o << "optional      next_observations " << (summary.has_next_observations ? "yes" : "no") << ", infos/qpos "
    << (summary.has_qpos ? "yes" : "no") << ", infos/qvel " << (summary.has_qvel ? "yes" : "no") << "\n";
  for (const auto& [k, v] : summary.metadata) o << "metadata      " << k << " = " << v << "\n";
  return kExitOk;
}

// data validate's settings (flags, --help, docs/CLI-REFERENCE.md).
struct ValidateOptions {
  std::string dataset;

  static const std::vector<base::ConfigField<ValidateOptions>>& fields() {
    static const std::vector<base::ConfigField<ValidateOptions>> table{
        base::field("dataset", &ValidateOptions::dataset,
                    "D4RL or Minari file (or dataset name) to check; also as a plain argument"),
    };
    return table;
  }
};

int run_validate(int argc, char** argv) {
  ValidateOptions settings;
  po::positional_options_description positional;
  positional.add("dataset", 1);
  po::variables_map vm;
  if (!parse_config(argc, argv, "FILE", ValidateOptions::fields(), settings, vm, &positional, {"dataset"}))
    return kExitOk;
  const std::string& file = settings.dataset;
  const auto t = load(file);
  const auto split = data::split_episodes(t);
  if (split.episodes.empty()) throw InputError(file + ": no complete episode (no terminal or timeout set)");
  std::cout << file << ": ok (" << t.size << " transitions, " << split.episodes.size() << " episode"
            << (split.episodes.size() == 1 ? "" : "s") << ")\n";
  return kExitOk;
}

// data concat's settings (flags, --help, docs/CLI-REFERENCE.md).
struct ConcatOptions {
  std::vector<std::string> inputs;
  std::string out;
  bool overwrite = false;

  static const std::vector<base::ConfigField<ConcatOptions>>& fields() {
    static const std::vector<base::ConfigField<ConcatOptions>> table{
        base::field("inputs", &ConcatOptions::inputs,
                    "D4RL files with the same dims, in order (also as plain arguments)"),
        base::field("out", &ConcatOptions::out, "output .hdf5 file"),
        base::field("overwrite", &ConcatOptions::overwrite, "replace --out if it exists (refused without it)",
                    {"", false, std::nullopt, true}),
    };
    return table;
  }
};

int run_concat(int argc, char** argv) {
  ConcatOptions settings;
  po::positional_options_description positional;
  positional.add("inputs", -1);
  po::variables_map vm;
  if (!parse_config(argc, argv, "A.hdf5 B.hdf5 [...] --out C.hdf5", ConcatOptions::fields(), settings, vm, &positional,
                    {"inputs", "out"}))
    return kExitOk;
  const auto& [inputs, out, overwrite] = settings;
  if (inputs.size() < 2) throw UsageError("need at least two input files");
  require_not_input("out", out, inputs);  // writing over an input while it is being read
  require_new_file("out", out, overwrite);
  require_writable("out", out);
  std::vector<data::Transitions> parts;
  std::string sources;
  for (const auto& f : inputs) {
    parts.push_back(load(f));
    sources += (sources.empty() ? "" : " + ") + f;
  }
  data::Transitions merged;
  try {
    merged = concatenate(parts);              // with each part's metadata; and here how they were put together
  } catch (const std::invalid_argument& e) {  // inputs of different sizes, or Minari files
    throw InputError(sources + ": " + e.what());
  }
  std::string command;
  for (int i = 0; i < argc; ++i) command += (i ? " " : "") + std::string(argv[i]);
  merged.metadata["made_by"] = "aaren data concat";
  merged.metadata["command"] = command;
  merged.metadata["sources"] = sources;
  merged.metadata["provenance"] = provenance(argc, argv).dump();
  try {
    data::write_d4rl(out, merged);
  } catch (const data::DataError& e) {
    throw InputError(e.what());
  }
  std::cout << out << ": " << merged.size << " transitions from " << inputs.size() << " files\n";
  return kExitOk;
}

// A listed dataset's env and score references, read from its name and, for
// Minari's, its data/metadata.json (without reading the data); nullopt when
// neither names a known env.
struct ListedReference {
  std::string env;
  envs::ScoreReference reference;
  std::string source;
};
std::optional<ListedReference> listed_reference(const data::FoundDataset& d) {
  const auto metadata = d.source == "Minari"
                            ? data::read_minari_metadata_json(std::filesystem::path(d.path) / "data" / "metadata.json")
                            : std::map<std::string, std::string>{};
  const auto found = envs::dataset_env(metadata, d.source == "D4RL" ? d.name : d.path);
  if (!found) return std::nullopt;
  const auto r = envs::dataset_reference(metadata, envs::env_spec(found->env));
  return ListedReference{found->env, r.reference, r.source};
}

int run_list(int argc, char** argv) {
  ListingOptions settings;
  const bool& json = settings.json;
  po::variables_map vm;
  if (!parse_config(
          argc, argv,
          "[--json]\n\nThe datasets --dataset finds by name: D4RL's in $D4RL_DATASET_DIR (default ~/.d4rl/datasets), "
          "Minari's in $MINARI_DATASETS_PATH (default ~/.minari/datasets).",
          ListingOptions::fields(), settings, vm))
    return kExitOk;
  const auto found = data::list_datasets();
  if (json) {
    auto rows = nlohmann::json::array();
    for (const auto& d : found) {
      nlohmann::json row{{"name", d.name}, {"source", d.source}, {"path", d.path}};
      if (const auto ref = listed_reference(d)) {
        row["env"] = ref->env;
        row["ref_min_score"] = ref->reference.random_return;
        row["ref_max_score"] = ref->reference.expert_return;
        row["reference_source"] = ref->source;
      }
      rows.push_back(row);
    }
    std::cout << nlohmann::json{{"d4rl_dir", data::d4rl_dataset_dir()},
                                {"minari_dir", data::minari_datasets_dir()},
                                {"datasets", rows}}
                     .dump(2)
              << "\n";
    return kExitOk;
  }
  std::cout << "D4RL:   " << data::d4rl_dataset_dir() << " ($D4RL_DATASET_DIR)\nMinari: " << data::minari_datasets_dir()
            << " ($MINARI_DATASETS_PATH)\n";
  if (found.empty()) std::cout << "\nno datasets found there\n";
  for (const auto& d : found) {
    std::cout << std::left << std::setw(8) << d.source << d.name << "  (" << d.path << ")";
    if (const auto ref = listed_reference(d))
      std::cout << "  " << ref->env << ", references " << ref->reference.random_return << " / "
                << ref->reference.expert_return << " (" << ref->source << ")";
    std::cout << "\n";
  }
  return kExitOk;
}

}  // namespace

int run_data(int argc, char** argv) {
  const std::vector<Command> commands{
      {"inspect", "summarise a file: sizes, episodes, returns, normalised score", run_inspect},
      {"validate", "exit 0 when the file loads, else print the first problem (exit 2)", run_validate},
      {"concat", "concatenate D4RL files (e.g. medium + expert = medium-expert)", run_concat},
      {"list", "the D4RL and Minari datasets found by name (--dataset hopper-medium-v2)", run_list},
  };
  return dispatch(argv[0], "Offline datasets (D4RL and Minari HDF5).", commands, argc, argv);
}

}  // namespace aaren::cli
