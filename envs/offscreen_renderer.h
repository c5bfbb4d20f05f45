// MuJoCo's own renderer without a display: an EGL context on Mesa's
// surfaceless platform (its software rasteriser on a machine without a GPU,
// or a GPU driver's EGL), drawing into MuJoCo's offscreen framebuffer. The
// camera tracks the robot's root body from the side, as gym's viewers do.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "envs/mujoco_env.h"

namespace aaren::envs {

class OffscreenRenderer {
 public:
  // For scenes of `model`, frames of width x height. Throws EnvError when no
  // OpenGL context can be made (no EGL library or driver).
  OffscreenRenderer(const mjModel* model, int width, int height);
  ~OffscreenRenderer();
  OffscreenRenderer(const OffscreenRenderer&) = delete;
  OffscreenRenderer& operator=(const OffscreenRenderer&) = delete;

  // The scene of `data` (of this renderer's model) into `rgb`: width * height
  // * 3 bytes, the top row first.
  void render(const mjData* data, std::vector<uint8_t>& rgb);
  int width() const { return width_; }
  int height() const { return height_; }

 private:
  struct Gl;
  std::unique_ptr<Gl> gl_;
  int width_, height_;
};

}  // namespace aaren::envs
