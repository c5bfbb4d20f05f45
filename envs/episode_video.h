// A video of one episode of a VectorEnv: env 0's first episode, a frame after
// the reset and then every k-th step, k chosen so the clip plays in real
// time at about the requested frame rate (Hopper: dt 0.008 s, 30 fps asked:
// every 4th step, 31.25 fps).
#pragma once

#include <memory>
#include <string>

#include "base/video_writer.h"
#include "envs/offscreen_renderer.h"
#include "envs/vector_env.h"

namespace aaren::envs {

class EpisodeVideo {
 public:
  // path: *.mp4 or *.gif. Throws base::VideoError or EnvError (no EGL, not a MuJoCo env).
  EpisodeVideo(const std::string& path, const VectorEnv& envs, int width, int height, double fps);
  // Call after envs.reset() and after every envs.step().
  void observe(const VectorEnv& envs);
  // Writes the file (throws base::VideoError).
  void finish();

  int64_t frames() const { return writer_->frames(); }
  int every() const { return every_; }      // env steps per frame
  double fps() const { return fps_; }       // frames per second of the file: 1 / (every * dt)
  int64_t steps() const { return steps_; }  // env steps of the episode seen so far

 private:
  std::unique_ptr<OffscreenRenderer> renderer_;
  std::unique_ptr<base::VideoWriter> writer_;
  std::vector<uint8_t> rgb_;
  int every_ = 1;
  double fps_ = 0;
  int64_t steps_ = -1;  // -1: before the reset
  bool done_ = false;
};

}  // namespace aaren::envs
