#include "envs/offscreen_renderer.h"

#include <EGL/egl.h>
#include <EGL/eglext.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

namespace aaren::envs {

struct OffscreenRenderer::Gl {
  EGLDisplay display = EGL_NO_DISPLAY;
  EGLContext context = EGL_NO_CONTEXT;
  mjModel* model = nullptr;  // a copy whose offscreen buffer fits the frames
  mjvScene scene;
  mjvCamera camera;
  mjvOption option;
  mjrContext context_gl;
  std::vector<uint8_t> flipped;
};

namespace {
[[noreturn]] void fail(const std::string& what) {
  throw EnvError("video: " + what + " (needs EGL: apt-get install libegl1 libegl-mesa0)");
}

EGLDisplay open_display() {
  // Mesa's surfaceless platform needs no X server or device node; fall back
  // to the default display where the extension is missing.
  auto get_platform_display =
      reinterpret_cast<PFNEGLGETPLATFORMDISPLAYEXTPROC>(eglGetProcAddress("eglGetPlatformDisplayEXT"));
  EGLDisplay display = EGL_NO_DISPLAY;
  if (get_platform_display) display = get_platform_display(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, nullptr);
  if (display == EGL_NO_DISPLAY) display = eglGetDisplay(EGL_DEFAULT_DISPLAY);
  return display;
}
// The floors are plain planes, and a tracking camera would show a runner
// standing still: dark stripes across the floor every metre (scene-only
// decoration, no physics) show how far and how fast it goes.
void add_floor_marks(double x_center, mjvScene& scene) {
  const int first = static_cast<int>(std::floor(x_center)) - 6;
  for (int k = first; k <= first + 12 && scene.ngeom < scene.maxgeom; ++k) {
    const mjtNum size[3] = {0.02, 3.0, 0.001}, pos[3] = {static_cast<mjtNum>(k), 0, 0.001};
    const mjtNum rot[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    const float rgba[4] = {0.35f, 0.4f, 0.35f, 1};
    mjv_initGeom(&scene.geoms[scene.ngeom++], mjGEOM_BOX, size, pos, rot, rgba);
  }
}
}  // namespace

OffscreenRenderer::OffscreenRenderer(const mjModel* model, int width, int height)
    : gl_(std::make_unique<Gl>()), width_(width), height_(height) {
  auto& g = *gl_;
  g.display = open_display();
  EGLint major = 0, minor = 0;
  if (g.display == EGL_NO_DISPLAY || !eglInitialize(g.display, &major, &minor)) fail("no EGL display");
  const EGLint attributes[] = {EGL_RED_SIZE,
                               8,
                               EGL_GREEN_SIZE,
                               8,
                               EGL_BLUE_SIZE,
                               8,
                               EGL_ALPHA_SIZE,
                               8,
                               EGL_DEPTH_SIZE,
                               24,
                               EGL_STENCIL_SIZE,
                               8,
                               EGL_COLOR_BUFFER_TYPE,
                               EGL_RGB_BUFFER,
                               EGL_SURFACE_TYPE,
                               EGL_PBUFFER_BIT,
                               EGL_RENDERABLE_TYPE,
                               EGL_OPENGL_BIT,
                               EGL_NONE};
  EGLConfig config;
  EGLint count = 0;
  if (!eglChooseConfig(g.display, attributes, &config, 1, &count) || count < 1) fail("no EGL config for OpenGL");
  if (!eglBindAPI(EGL_OPENGL_API)) fail("EGL has no desktop OpenGL");
  g.context = eglCreateContext(g.display, config, EGL_NO_CONTEXT, nullptr);
  if (g.context == EGL_NO_CONTEXT) fail("cannot create an OpenGL context");
  if (!eglMakeCurrent(g.display, EGL_NO_SURFACE, EGL_NO_SURFACE, g.context)) fail("cannot make the context current");

  g.model = mj_copyModel(nullptr, model);
  g.model->vis.global.offwidth = std::max(g.model->vis.global.offwidth, width);
  g.model->vis.global.offheight = std::max(g.model->vis.global.offheight, height);
  mjv_defaultScene(&g.scene);
  mjv_defaultCamera(&g.camera);
  mjv_defaultOption(&g.option);
  mjr_defaultContext(&g.context_gl);
  mjv_makeScene(g.model, &g.scene, 2000);
  mjr_makeContext(g.model, &g.context_gl, mjFONTSCALE_100);
  mjr_setBuffer(mjFB_OFFSCREEN, &g.context_gl);
  // Brighter than MuJoCo's default headlight: the models have no lights of their own.
  for (int i = 0; i < 3; ++i) g.model->vis.headlight.ambient[i] = 0.4f, g.model->vis.headlight.diffuse[i] = 0.7f;
  // gym's viewer for the planar robots: track the torso from the side, 20
  // degrees from above, at 3/4 of the model's extent.
  g.camera.type = mjCAMERA_TRACKING;
  g.camera.trackbodyid = g.model->nbody > 1 ? 1 : 0;
  g.camera.distance = 0.75 * g.model->stat.extent;
  g.camera.elevation = -20;
  g.camera.azimuth = 90;
}

OffscreenRenderer::~OffscreenRenderer() {
  auto& g = *gl_;
  eglMakeCurrent(g.display, EGL_NO_SURFACE, EGL_NO_SURFACE, g.context);
  mjr_freeContext(&g.context_gl);
  mjv_freeScene(&g.scene);
  mj_deleteModel(g.model);
  eglMakeCurrent(g.display, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
  eglDestroyContext(g.display, g.context);
  eglTerminate(g.display);
}

void OffscreenRenderer::render(const mjData* data, std::vector<uint8_t>& rgb) {
  auto& g = *gl_;
  eglMakeCurrent(g.display, EGL_NO_SURFACE, EGL_NO_SURFACE, g.context);
  mjv_updateScene(g.model, const_cast<mjData*>(data), &g.option, nullptr, &g.camera, mjCAT_ALL, &g.scene);
  add_floor_marks(data->xpos[3 * g.camera.trackbodyid], g.scene);
  const mjrRect viewport{0, 0, width_, height_};
  mjr_render(viewport, &g.scene, &g.context_gl);
  const size_t row = static_cast<size_t>(width_) * 3;
  g.flipped.resize(row * height_);
  mjr_readPixels(g.flipped.data(), nullptr, viewport, &g.context_gl);
  rgb.resize(g.flipped.size());
  for (int y = 0; y < height_; ++y)  // OpenGL's rows run bottom up
    std::memcpy(rgb.data() + row * y, g.flipped.data() + row * (height_ - 1 - y), row);
}

}  // namespace aaren::envs
