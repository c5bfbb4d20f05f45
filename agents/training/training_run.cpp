#include "agents/training/training_run.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <stdexcept>

#include "data/dataset_names.h"
#include "envs/d4rl_scores.h"
#include "envs/registry.h"

namespace aaren {

// checkpoint_<update>.pt, the update at most 18 digits: a longer number is no checkpoint this toolkit wrote.
static const std::regex& periodic_checkpoint_name() {
  static const std::regex name("checkpoint_([0-9]{1,18})\\.pt");
  return name;
}

// OUT/checkpoint_<update>.pt files, oldest first: (update, path).
std::vector<std::pair<int64_t, std::string>> periodic_checkpoints(const std::string& dir) {
  const auto& name = periodic_checkpoint_name();
  std::vector<std::pair<int64_t, std::string>> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::smatch m;
    const auto file = entry.path().filename().string();
    if (entry.is_regular_file() && std::regex_match(file, m, name))
      found.emplace_back(std::stoll(m[1].str()), entry.path().string());
  }
  std::sort(found.begin(), found.end());
  return found;
}

bool holds_a_checkpoint_to_resume(const std::string& dir) {
  std::error_code ec;
  return !periodic_checkpoints(dir).empty() ||
         std::filesystem::is_regular_file((std::filesystem::path(dir) / "checkpoint.pt"), ec);
}

namespace {

// --resume DIR: that run's newest checkpoint: the last checkpoint_<update>.pt,
// or checkpoint.pt when that was written after it (a finished run, to be
// trained for longer).
std::string resolve_resume_path(const std::string& resume) {
  if (!std::filesystem::is_directory(resume)) return resume;
  if (!holds_a_checkpoint_to_resume(resume))
    throw std::invalid_argument("--resume " + resume + ": no checkpoint_<update>.pt or checkpoint.pt in this folder");
  const auto found = periodic_checkpoints(resume);
  const auto final_path = (std::filesystem::path(resume) / "checkpoint.pt").string();
  std::error_code ec;
  const bool has_final = std::filesystem::is_regular_file(final_path, ec);
  if (found.empty()) return final_path;
  if (has_final &&
      std::filesystem::last_write_time(final_path, ec) >= std::filesystem::last_write_time(found.back().second, ec))
    return final_path;
  return found.back().second;
}

// The run a resume continues: the stored config, with the fields a resumed
// run may change taken from `given` where the command line set them (`flags`;
// the others keep the stored run's values: a resumed run with the stored
// --threads computes what the uninterrupted run computed, bit for bit). With
// no flags at all (a config built in code), every such field comes from
// `given`. Flags it cannot change are refused.
TrainConfig continue_stored_run(const TrainConfig& given, const LoadedAgent& stored,
                                const std::set<std::string>& flags) {
  for (const auto& f : TrainConfig::fields())
    if (flags.count(f.flag) && !f.on_resume)
      throw std::invalid_argument("--" + f.flag + " cannot change on --resume (the run continues with " +
                                  base::display_value(f.get(stored.config)) + "); drop it");
  if (flags.empty()) return base::resumed_config(stored.config, given, TrainConfig::fields());
  TrainConfig c = base::resumed_config(stored.config, given, TrainConfig::fields(),
                                       [&](const auto& f) { return flags.count(f.flag) > 0; });
  c.resume = given.resume, c.out_dir = given.out_dir;
  return c;
}

// The file's episodes; what it warns of stays in transitions.warnings for the caller to say.
data::EpisodeData read_training_data(const std::string& path) {
  try {
    return data::read_episode_data(path);
  } catch (const data::DataError& e) {
    throw std::invalid_argument(e.what());
  }
}

// The env for evaluation: --env, else the dataset's (a version the data name, or
// say how it was inferred: `note`); checked against the data's sizes now, not
// at the first evaluation after all the training. Returns the row's id (Hopper-v5).
std::string resolve_env(const TrainConfig& c, const data::Transitions& t, const data::TrajectoryDataset& dataset,
                        std::string& note) {
  std::string env = c.env;
  const auto found = envs::dataset_env(t.metadata, c.dataset);
  // A bare name (hopper) names the robot; the data's row of that robot names its version.
  const bool bare = !env.empty() && envs::env_spec(env).name == env;
  if (found && (env.empty() || (bare && envs::env_spec(found->env).name == env))) {
    env = found->env;
    if (!found->note.empty()) note = c.dataset + ": " + env + " (" + found->note + ")";
  }
  if (env.empty()) throw std::invalid_argument("--env: cannot tell the environment from the dataset; name it");
  const auto& spec = envs::env_spec(env);
  if (spec.obs_dim != dataset.obs_dim() || spec.act_dim != dataset.act_dim())
    throw std::invalid_argument("--env " + spec.gym_id + ": observations/actions " + std::to_string(spec.obs_dim) +
                                "/" + std::to_string(spec.act_dim) + ", but " + c.dataset + " has " +
                                std::to_string(dataset.obs_dim()) + "/" + std::to_string(dataset.act_dim()));
  return spec.gym_id;
}

// What a run takes from its data, with no side effect (the same inputs give
// the same config): the env, the score references, the targets and the
// evaluation interval. `note` says how the env was inferred, if it was.
TrainConfig resolve_from_data(TrainConfig c, const data::EpisodeData& data, const data::TrajectoryDataset& dataset,
                              std::string& note) {
  c.env = resolve_env(c, data.transitions, dataset, note);
  const auto& spec = envs::env_spec(c.env);
  if (c.score_references.empty()) {
    // The dataset's own references score its own env only; a run resumed from before references were
    // recorded keeps the env's, as its evaluations so far used.
    const auto found = envs::dataset_env(data.transitions.metadata, c.dataset);
    const bool own_env = found && envs::env_spec(found->env).gym_id == spec.gym_id;
    const auto ref = own_env && c.resume.empty() ? envs::dataset_reference(data.transitions.metadata, spec).reference
                                                 : spec.reference;
    c.score_references = {ref.random_return, ref.expert_return};
  }
  // DT's targets where DT published them; else (envs outside DT's experiments) the data's best and mean
  // episode returns, as DT's targets sit near the best return in its data.
  const double high = spec.dt_target_high != 0 ? spec.dt_target_high : data.split.max_return();
  const double low = spec.dt_target_high != 0 ? spec.dt_target_low : data.split.mean_return();
  if (c.target_return == 0.0) c.target_return = high;
  if (c.eval_targets.empty()) c.eval_targets = {high, low};
  if (c.eval_every == 0) c.eval_every = std::max<int64_t>(1, c.updates / 10);
  return c;
}

// The checkpoint a resume continues is the run's own: a periodic checkpoint holds the update its
// name says, and, in a run's folder, it was trained with the settings the folder's config.json
// records (those a resume cannot change, less those resolved from the data). Else a file
// copied in from another run would continue this one's logs and replace its checkpoints
// under the other run's settings.
void check_checkpoint_is_the_runs(const std::string& path, const LoadedAgent& stored) {
  namespace fs = std::filesystem;
  std::smatch m;
  const auto file = fs::path(path).filename().string();
  if (std::regex_match(file, m, periodic_checkpoint_name()) && std::stoll(m[1].str()) != stored.update)
    throw std::invalid_argument(path + ": holds update " + std::to_string(stored.update) + ", not the " + m[1].str() +
                                " of its name (not this run's checkpoint; move it out of the folder)");
  const auto record = fs::path(path).parent_path() / "config.json";
  std::error_code ec;
  if (!fs::is_regular_file(record, ec)) return;
  std::ifstream in(record);
  const auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return;  // a damaged record is rewritten by the resume, as before; the weights decide
  // Resolved from the data at each start, and recorded unresolved by older builds ("env": "",
  // "target_return": 0): not what tells one run from another.
  static const std::set<std::string> resolved{"dataset",      "env",        "target_return",
                                              "eval_targets", "eval_every", "score_references"};
  for (const auto& f : TrainConfig::fields()) {
    if (f.on_resume || f.flag == "resume" || resolved.count(f.key) || !j.contains(f.key)) continue;
    const auto have = f.get(stored.config);
    if (j.at(f.key) != have)
      throw std::invalid_argument(path + ": trained with " + f.key + " " + base::display_value(have) + ", but " +
                                  record.string() + " records " + base::display_value(j.at(f.key)) +
                                  " (not this run's checkpoint; move it out of the folder)");
  }
}

// --resume: the checkpoint (a run folder's newest) and the run it continues.
// Loading builds a model, whose initialisation draws from LibTorch's global
// generator: its state is put back, so resolving leaves it as it was.
void resolve_resume(const TrainConfig& given, const std::set<std::string>& flags, ResolvedTrainingRun& r) {
  r.config.resume = resolve_resume_path(given.resume);
  auto generator = at::detail::getDefaultCPUGenerator();
  const auto generator_state = generator.get_state();
  try {
    r.resumed = load_checkpoint(r.config.resume);
  } catch (const std::runtime_error& e) {
    generator.set_state(generator_state);
    throw std::invalid_argument(e.what());  // a bad input file, as for every command that loads one
  }
  generator.set_state(generator_state);
  if (!r.resumed->training) throw std::invalid_argument(r.config.resume + ": has no training state to resume from");
  check_checkpoint_is_the_runs(r.config.resume, *r.resumed);
  auto with_path = given;
  with_path.resume = r.config.resume;
  r.config = continue_stored_run(with_path, *r.resumed, flags);
}

// The ranks the launcher started against what the command and the resumed run ask.
void check_world_size(const TrainConfig& given, const ResolvedTrainingRun& r, int world_size) {
  if (world_size > 1 && given.nproc > 1 && given.nproc != world_size)
    throw std::invalid_argument("--nproc " + std::to_string(given.nproc) +
                                " but WORLD_SIZE=" + std::to_string(world_size) + " (the launcher decides the ranks)");
  if (r.resumed && r.resumed->config.nproc != world_size)
    throw std::invalid_argument(r.config.resume + ": trained on " + std::to_string(r.resumed->config.nproc) +
                                " rank(s); resume it with --nproc " + std::to_string(r.resumed->config.nproc) +
                                " (here: " + std::to_string(world_size) + ")");
  const auto& ranks = r.resumed ? r.resumed->training->rank_torch_rng : torch::Tensor();
  if (ranks.defined() && ranks.size(0) != world_size)
    throw std::invalid_argument(r.config.resume + ": holds " + std::to_string(ranks.size(0)) +
                                " ranks' generators, not " + std::to_string(world_size));
}

// What the checkpoint a resume continues must share with the run: the data's sizes, and
// updates still to make.
void check_resume_fits(const ResolvedTrainingRun& r) {
  if (!r.resumed) return;
  const auto& stored = r.resumed->model->config();
  if (stored.state_dim != r.dataset->obs_dim() || stored.act_dim != r.dataset->act_dim())
    throw std::invalid_argument(r.config.resume + ": trained on other dims than " + r.config.dataset);
  if (r.resumed->update >= r.config.updates)
    throw std::invalid_argument("--updates " + std::to_string(r.config.updates) + " is not beyond the checkpoint's " +
                                std::to_string(r.resumed->update));
}

// The targets the run evaluates at, as resolved (given, a resumed run's, or from the data), and
// --target-return when given (a resumed run's stored one is not acted on in training): each within
// what the model computes in float (check_target_return), refused before anything is written.
void check_resolved_targets(const TrainConfig& c, const std::set<std::string>& flags) {
  const std::string not_given =
      flags.count("eval-targets") ? "" : " (not given here: the run's own; give --eval-targets)";
  for (const double t : c.eval_targets) {
    try {
      check_target_return("--eval-targets", t, c.return_scale);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(e.what() + not_given);
    }
  }
  if (flags.count("target-return")) check_target_return("--target-return", c.target_return, c.return_scale);
}

}  // namespace

ResolvedTrainingRun resolve_training_run(const TrainConfig& given, const std::set<std::string>& given_flags,
                                         int world_size, const std::function<void(const std::string&)>& say) {
  given.validate();
  ResolvedTrainingRun r;
  r.config = given;
  if (!given.resume.empty()) resolve_resume(given, given_flags, r);
  check_world_size(given, r, world_size);
  auto& c = r.config;
  c.nproc = world_size;
  c.validate();  // the global batch against the resolved world size
  try {
    c.dataset = data::resolve_dataset(c.dataset);  // a name (hopper-medium-v2): its file, in config.json too
  } catch (const data::DataError& e) {
    throw std::invalid_argument(e.what());
  }
  r.data = read_training_data(c.dataset);
  if (say)
    for (const auto& w : r.data.transitions.warnings) say("warning: " + w);
  if (c.top_fraction < 1.0) r.data.split = data::top_episodes(r.data.split, c.top_fraction);  // DT's %BC
  r.dataset = std::make_unique<data::TrajectoryDataset>(r.data.transitions, r.data.split);
  std::string note;
  c = resolve_from_data(c, r.data, *r.dataset, note);
  if (say && !note.empty()) say("note: " + note);
  check_resolved_targets(c, given_flags);
  check_resume_fits(r);
  return r;
}

}  // namespace aaren
