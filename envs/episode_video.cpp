#include "envs/episode_video.h"

#include <algorithm>
#include <cmath>

namespace aaren::envs {

namespace {
const MujocoEnv& mujoco_env(const VectorEnv& envs) {
  const auto* env = dynamic_cast<const MujocoEnv*>(&envs.env(0));
  if (!env) throw EnvError("video: the env is not a MuJoCo env");
  return *env;
}
}  // namespace

EpisodeVideo::EpisodeVideo(const std::string& path, const VectorEnv& envs, int width, int height, double fps) {
  const auto& env = mujoco_env(envs);
  if (!(fps > 0)) throw EnvError("video: frames per second must be > 0");
  every_ = std::max(1, static_cast<int>(std::lround(1.0 / (fps * env.dt()))));
  fps_ = 1.0 / (every_ * env.dt());
  renderer_ = std::make_unique<OffscreenRenderer>(env.model(), width, height);
  writer_ = std::make_unique<base::VideoWriter>(path, width, height, fps_);
}

void EpisodeVideo::observe(const VectorEnv& envs) {
  if (done_) return;
  if (steps_ >= 0 && envs.dones()[0]) {  // env 0 has already been reset for its next episode: stop here
    ++steps_;
    done_ = true;
    return;
  }
  ++steps_;
  if (steps_ % every_ != 0) return;
  renderer_->render(mujoco_env(envs).data(), rgb_);
  writer_->add_frame(rgb_);
}

void EpisodeVideo::finish() { writer_->finish(); }

}  // namespace aaren::envs
