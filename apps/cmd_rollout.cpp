// aaren rollout: run a policy in an environment and report returns and
// D4RL normalised scores.
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "agents/acting/acting.h"
#include "agents/acting/behaviour_policy.h"
#include "agents/acting/rollout.h"
#include "agents/models/device.h"
#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/config_options.h"
#include "apps/provenance.h"
#include "base/format.h"
#include "envs/episode_video.h"

namespace aaren::cli {

namespace {
struct VideoReport {
  std::string path;
  int64_t frames = 0;
  double fps = 0;
  int every = 0;
  nlohmann::json ran_by;  // provenance(), for the record beside the video

  nlohmann::json to_json() const { return {{"path", path}, {"frames", frames}, {"fps", fps}, {"every", every}}; }
};

int report_rollout(const nlohmann::json& settings, const RolloutResult& result, const RolloutConfig& config,
                   const std::string& policy_name, const std::string& backbone, const std::string& tokens,
                   const std::string& mode, double target_return, int64_t state_bytes_last, bool json,
                   const VideoReport& video);

// --video: env 0's first episode, rendered offscreen and encoded by ffmpeg.
struct VideoOptions {
  std::string path, size = "480x360";
  double fps = 30;
};

RolloutResult rollout_with_video(const RolloutConfig& config, BatchPolicy& policy, const VideoOptions& v,
                                 VideoReport& report) {
  if (v.path.empty()) return aaren::run_rollout(config, policy);
  int width = 0, height = 0;
  char x = 0;
  std::istringstream size(v.size);
  if (!(size >> width >> x >> height) || x != 'x' || !size.eof())
    throw UsageError("--video-size must be WIDTHxHEIGHT, e.g. 480x360, got '" + v.size + "'");
  std::unique_ptr<envs::EpisodeVideo> video;
  const auto result = aaren::run_rollout(config, policy, {}, [&](const envs::VectorEnv& envs) {
    try {
      if (!video) video = std::make_unique<envs::EpisodeVideo>(v.path, envs, width, height, v.fps);
      video->observe(envs);
    } catch (const base::VideoError& e) {
      throw UsageError(e.what());
    }
  });
  try {
    video->finish();
  } catch (const base::VideoError& e) {
    throw InputError(e.what());
  }
  report.path = v.path, report.frames = video->frames(), report.fps = video->fps(), report.every = video->every();
  return result;
}

// A SAC actor's deterministic action (tanh of its mean) for every env at once.
LoadedAgent load_agent(const std::string& path) {
  try {
    return load_checkpoint(path);
  } catch (const std::runtime_error& e) {
    throw InputError(e.what());
  }
}

// A policy file (agent or SAC) made for obs/act dims the env must have.
void check_env_matches(int64_t obs_dim, int64_t act_dim, const RolloutConfig& config, const std::string& file) {
  const auto env = envs::make_env(config.env, config.env_options);
  if (env->obs_dim() != obs_dim || env->act_dim() != act_dim)
    throw InputError(file + ": trained for obs/act dims " + std::to_string(obs_dim) + "/" + std::to_string(act_dim) +
                     ", env " + config.env + " has " + std::to_string(env->obs_dim()) + "/" +
                     std::to_string(env->act_dim()));
}

// A trained agent acting: its env (unless --env), its dataset's references, its mode and runtime.
int rollout_agent(const nlohmann::json& settings, RolloutConfig config, const std::string& checkpoint, std::string mode,
                  const std::string& runtime, double target_return, bool json, const VideoOptions& video,
                  VideoReport& video_report) {
  const auto agent = load_agent(checkpoint);
  // No --env, or a bare name of the agent's robot (hopper): the agent's own row (its version).
  if (config.env.empty() || config.env == envs::env_spec(agent.env).name) config.env = agent.env;
  if (envs::env_spec(config.env).gym_id == envs::env_spec(agent.env).gym_id)
    config.reference = agent_score_reference(agent);  // its dataset's references, in the env it was trained for
  check_env_matches(agent.model->config().state_dim, agent.model->config().act_dim, config, checkpoint);
  ActingOptions acting;
  acting.batch_invariant = true;  // the same episodes with any --num-envs
  acting.runtime = runtime == "lean" ? Runtime::kLean : Runtime::kLibTorch;
  acting.target_return = acting_target_return(agent, target_return);
  try {
    check_target_return(target_return != 0.0 ? "--target-return" : checkpoint + ": its target_return",
                        acting.target_return, agent.config.return_scale);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  acting.num_envs = config.num_envs;  // resolved by run_rollout (acting_num_envs) for a --checkpoint
  try {
    // auto: as its training evaluated it; the lean runtime acts recurrently only.
    acting.mode = mode != "auto"                     ? descriptor(agent.config.backbone).mode_named(mode)
                  : acting.runtime == Runtime::kLean ? ActMode::kRecurrent
                                                     : agent.config.evaluation_mode();
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  mode = to_string(acting.mode);
  std::unique_ptr<AgentPolicy> p;
  try {
    p = make_agent_policy(agent, acting, checkpoint);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());  // e.g. a Transformer agent in the lean runtime
  } catch (const lean::PolicyFileError& e) {
    throw UsageError(e.what());
  }
  RolloutResult result;
  try {
    result = rollout_with_video(config, *p, video, video_report);
  } catch (const NonFiniteActionError& e) {
    throw non_finite_action(checkpoint, e.what(),
                            agent.config.condition_on_return ? std::optional(acting.target_return) : std::nullopt);
  }
  const std::string mode_label = acting.runtime == Runtime::kLean ? "recurrent (lean runtime)" : mode;
  return report_rollout(settings, result, config, checkpoint, to_string(agent.config.backbone),
                        to_string(agent.config.tokens), mode_label, acting.target_return, p->state_bytes(), json,
                        video_report);
}
}  // namespace

namespace {
// The flags' combinations (`policy_given`: --policy as typed, empty when not given). Throws UsageError.
void check_rollout_flags(const RolloutConfig& config, const std::string& checkpoint, const std::string& policy_given,
                         const std::string& mode, const std::string& runtime) {
  if (!checkpoint.empty() && !policy_given.empty())
    throw UsageError("--policy and --checkpoint name two policies; give one");
  if (checkpoint.empty() && config.env.empty() && (policy_given.empty() || policy_given == "random"))
    throw UsageError("--env is required with --policy random");
  if (config.episodes < 1) throw UsageError("--episodes must be >= 1");
  if (config.threads < 1) throw UsageError("--env-threads must be >= 1");
  if (runtime != "torch" && runtime != "lean")
    throw UsageError("--runtime must be torch or lean, got '" + runtime + "'");
  if (runtime == "lean" && checkpoint.empty()) throw UsageError("--runtime lean needs --checkpoint");
  if (runtime == "lean" && mode != "recurrent" && mode != "auto")
    throw UsageError("--runtime lean runs --mode recurrent only");
}

// rollout's settings, one described field each: its flags, --help, the
// "config" of its output and docs/CLI-REFERENCE.md come from this table.
struct RolloutOptions {
  RolloutConfig run;
  std::string policy = "random", checkpoint, mode = "auto", runtime = "torch";
  double target_return = 0.0;
  int threads = 1;
  bool json = false;
  VideoOptions video;

  RolloutOptions() { run.env.clear(); }  // no env: with --checkpoint, the agent's own

  static const std::vector<base::ConfigField<RolloutOptions>>& fields() {
    using O = RolloutOptions;
    using base::field;
    using base::field_at;
    static const std::vector<base::ConfigField<O>> table{
        field_at<O>(
            "env", [](O & o) -> auto& { return o.run.env; },
            "environment (see 'aaren envs'); default with --checkpoint: its env"),
        field("policy", &O::policy,
              "without --checkpoint: random, or a SAC policy file from 'aaren sac' (policy_*.pt; acts "
              "deterministically)"),
        field("checkpoint", &O::checkpoint, "a trained agent from 'aaren train'"),
        field("target-return", &O::target_return, "return to condition on (0: the checkpoint's evaluation target)"),
        field("mode", &O::mode,
              "how the agent acts: auto (as its training evaluated it, --eval-mode; by default its backbone's: Aaren "
              "and the LSTM recurrent, the Transformer window, as DT does) | recurrent (Aaren, LSTM: a state of fixed "
              "size carried over the episode) | window "
              "(DT: the last K steps re-run) | kvcache (the Transformer: keys and values of every step so far)"),
        field("runtime", &O::runtime,
              "torch (LibTorch, every mode) or lean (the LibTorch-free runtime: Aaren and the LSTM, recurrent)"),
        field("threads", &O::threads, "LibTorch threads for the policy"),
        field_at<O>(
            "episodes", [](O & o) -> auto& { return o.run.episodes; }, "episodes to run"),
        field_at<O>(
            "seed", [](O & o) -> auto& { return o.run.seed; },
            "seed: episode e starts from a reset seeded with seed + e (whatever --num-envs)"),
        field_at<O>(
            "num-envs", [](O & o) -> auto& { return o.run.num_envs; },
            "envs stepped together (0: min(episodes, 16)); a --checkpoint's at most 16, and a divisor of 16 for "
            "more than 16 episodes (3 steps 4), so its episodes are the same bits with any count"),
        field_at<O>(
            "env-threads", [](O & o) -> auto& { return o.run.threads; }, "threads stepping the envs"),
        field_at<O>(
            "model-xml", [](O & o) -> auto& { return o.run.env_options.model_xml; },
            "MJCF file to use instead of the built-in model"),
        field_at<O>(
            "video", [](O & o) -> auto& { return o.video.path; },
            "also write env 0's first episode as a video, FILE.mp4 or FILE.gif (MuJoCo's renderer offscreen "
            "through EGL, encoded by ffmpeg)"),
        field_at<O>(
            "video-size", [](O & o) -> auto& { return o.video.size; }, "video frame size, WIDTHxHEIGHT"),
        field_at<O>(
            "video-fps", [](O & o) -> auto& { return o.video.fps; },
            "about this many frames per second: every k-th env step, played in real time"),
        field("json", &O::json, "print one JSON object", {"", false, std::nullopt, true}),
    };
    return table;
  }
};

}  // namespace

int run_rollout(int argc, char** argv) {
  RolloutOptions o;
  boost::program_options::variables_map vm;
  if (!parse_config(argc, argv, "(--env NAME --policy random | --checkpoint FILE) [options]", RolloutOptions::fields(),
                    o, vm))
    return kExitOk;
  auto& config = o.run;
  VideoReport video_report;
  check_rollout_flags(config, o.checkpoint, given(vm, "policy") ? o.policy : "", o.mode, o.runtime);
  if (!o.video.path.empty()) {
    require_figure_output("video", o.video.path, "rollout");
    video_report.ran_by = provenance(argc, argv);  // for the video's record
  }
  config.num_envs = acting_num_envs(config.num_envs, config.episodes, !o.checkpoint.empty());  // as reported
  const auto settings = base::fields_to_json(o, RolloutOptions::fields());

  try {
    if (o.checkpoint.empty()) {  // a behaviour policy: random, or a SAC policy file
      if (o.policy != "random") set_cpu_threads(o.threads);
      BehaviourPolicy behaviour;
      try {
        behaviour = make_behaviour_policy(o.policy, config.seed + 1000003);
      } catch (const std::runtime_error& e) {
        throw InputError(std::string(e.what()) + " (--policy takes 'random' or a SAC policy file from 'aaren sac')");
      }
      if (behaviour.sac) {
        if (config.env.empty()) config.env = behaviour.sac->env;
        check_env_matches(behaviour.sac->obs_dim, behaviour.sac->act_dim, config, o.policy);
      }
      RolloutResult result;
      try {
        result = rollout_with_video(config, *behaviour.policy, o.video, video_report);
      } catch (const NonFiniteActionError& e) {
        throw non_finite_action(o.policy, e.what());
      }
      return behaviour.sac ? report_rollout(settings, result, config, o.policy, "sac", "", "deterministic",
                                            o.target_return, 0, o.json, video_report)
                           : report_rollout(settings, result, config, o.policy, "", "", "", o.target_return, 0, o.json,
                                            video_report);
    }
    set_cpu_threads(o.threads);
    return rollout_agent(settings, config, o.checkpoint, o.mode, o.runtime, o.target_return, o.json, o.video,
                         video_report);
  } catch (const envs::EnvError& e) {
    throw InputError(e.what());
  }
}

namespace {
// One row per episode: its env, return, length, normalised score and how it ended.
void print_episode_table(const RolloutResult& result, const std::vector<double>& scores) {
  std::cout << std::fixed << std::setprecision(2);
  std::cout << "episode  env  return     length  score       end\n";
  for (size_t k = 0; k < result.episodes.size(); ++k) {
    const auto& e = result.episodes[k];
    std::cout << std::setw(7) << k << "  " << std::setw(3) << e.env_index << "  " << std::setw(9) << e.episode_return
              << "  " << std::setw(6) << e.length << "  " << std::setw(10) << scores[k] << "  "
              << (e.unstable     ? "unstable: " + e.warning
                  : e.terminated ? "terminated"
                                 : "time limit")
              << "\n";
  }
}

int report_rollout(const nlohmann::json& settings, const RolloutResult& result, const RolloutConfig& config,
                   const std::string& policy_name, const std::string& backbone, const std::string& tokens,
                   const std::string& mode, double target_return, int64_t state_bytes_last, bool json,
                   const VideoReport& video) {
  const auto returns = result.returns(), lengths = result.lengths(), scores = result.normalized_scores();
  // The env as it ran (its row's id: the version) and the references its scores use.
  const std::string env_id = envs::env_spec(config.env).gym_id;
  // The settings as given (rollout's table), resolved: the env's id, the
  // references, what acted and how, the envs stepped together.
  auto resolved = settings;
  resolved["env"] = env_id;
  resolved["score_references"] = {result.reference.random_return, result.reference.expert_return};
  resolved["policy"] = policy_name;
  resolved["backbone"] = backbone;
  resolved["tokens"] = tokens;
  resolved["mode"] = mode;
  resolved["target_return"] = target_return;
  resolved["num_envs"] = config.num_envs;
  if (!video.path.empty())  // FILE.EXT.config.json beside the video: what it shows and what ran it
    save_config_next_to(
        video.path,
        {{"command", "rollout"}, {"config", resolved}, {"video", video.to_json()}, {"provenance", video.ran_by}});
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
                       {"scores", scores},
                       {"return_mean", mean_of(returns)},
                       {"return_std", std_of(returns)},
                       {"score_mean", mean_of(scores)},
                       {"score_std", std_of(scores)},
                       {"env_steps", result.env_steps},
                       {"seconds", result.seconds},
                       {"env_us_per_step", us_per_step},
                       {"policy_us_per_step", policy_us_per_step},
                       {"policy_state_bytes", state_bytes_last},
                       {"unstable_episodes", warnings}};
    if (!video.path.empty()) out["video"] = video.to_json();
    std::cout << out.dump(2) << std::endl;
    return kExitOk;
  }
  std::cout << "config: " << resolved.dump() << "\n\n";
  print_episode_table(result, scores);
  using base::three_significant;
  std::cout << "\nreturn      " << three_significant(mean_of(returns)) << " +- " << three_significant(std_of(returns))
            << "\nlength      " << three_significant(mean_of(lengths)) << " +- " << three_significant(std_of(lengths))
            << "\nscore       " << three_significant(mean_of(scores)) << " +- " << three_significant(std_of(scores))
            << "  (" << env_id << ": references " << result.reference.random_return << " / "
            << result.reference.expert_return << ")\n"
            << (video.path.empty()
                    ? std::string()
                    : "video       " + video.path + ": " + std::to_string(video.frames) +
                          " frames of env 0's first episode, every " + std::to_string(video.every) + " steps\n")
            << "time        " << three_significant(result.seconds) << " s in all; per env step: env "
            << three_significant(us_per_step) << " µs, policy " << three_significant(policy_us_per_step) << " µs (for "
            << base::count_of(config.num_envs > 0 ? config.num_envs : 1, "env") << " together)\n";
  if (!mode.empty())
    std::cout << "memory      policy state " << state_bytes_last << " bytes at the end (" << mode << ")\n";
  return kExitOk;
}

}  // namespace

}  // namespace aaren::cli
