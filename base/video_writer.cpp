#include "base/video_writer.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/atomic_file.h"

extern char** environ;

namespace aaren::base {

namespace {
bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}
}  // namespace

VideoWriter::VideoWriter(const std::string& path, int width, int height, double fps)
    : path_(path), temp_(temp_file_name(path)), log_(temp_file_name(path) + ".log"), width_(width), height_(height) {
  const bool gif = ends_with(path, ".gif"), mp4 = ends_with(path, ".mp4");
  if (!gif && !mp4) throw VideoError(path + ": a video must be .mp4 or .gif");
  if (width < 16 || height < 16 || width % 2 || height % 2)
    throw VideoError(path + ": video size must be even and at least 16x16, got " + std::to_string(width) + "x" +
                     std::to_string(height));
  std::ostringstream size, rate;
  size << width << "x" << height;
  rate << fps;
  std::vector<std::string> args{"ffmpeg", "-nostdin", "-y",       "-loglevel", "error",    "-f", "rawvideo", "-pix_fmt",
                                "rgb24",  "-s",       size.str(), "-r",        rate.str(), "-i", "-"};
  if (gif) {
    // One palette for the whole clip, from its own frames: no banding from a fixed 256-colour table.
    args.insert(args.end(), {"-vf", "split[a][b];[a]palettegen=stats_mode=diff[p];[b][p]paletteuse", "-f", "gif"});
  } else {
    args.insert(args.end(), {"-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "23", "-f", "mp4"});
  }
  args.push_back(temp_);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int fds[2];
  if (::pipe(fds) != 0) throw VideoError(path + ": cannot create a pipe (" + std::strerror(errno) + ")");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[0], 0);
  posix_spawn_file_actions_addclose(&actions, fds[1]);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  const int err = ::posix_spawnp(&pid, "ffmpeg", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[0]);
  if (err != 0) {
    ::close(fds[1]);
    std::remove(log_.c_str());
    throw VideoError(path + ": cannot run ffmpeg (" + std::strerror(err) + "; apt-get install ffmpeg)");
  }
  pipe_ = fds[1], pid_ = pid;
}

VideoWriter::~VideoWriter() {
  if (pid_ < 0) return;
  ::close(pipe_);
  ::kill(pid_, SIGTERM);
  ::waitpid(pid_, nullptr, 0);
  std::remove(temp_.c_str());
  std::remove(log_.c_str());
}

void VideoWriter::add_frame(const std::vector<uint8_t>& rgb) {
  const size_t bytes = static_cast<size_t>(width_) * height_ * 3;
  if (rgb.size() != bytes || pipe_ < 0) throw VideoError(path_ + ": frame of the wrong size, or the video is finished");
  // ffmpeg may have died: a write to a pipe without a reader would raise SIGPIPE.
  struct sigaction ignore {
  }, old{};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, &old);
  size_t done = 0;
  while (done < bytes) {
    const ssize_t n = ::write(pipe_, rgb.data() + done, bytes - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  sigaction(SIGPIPE, &old, nullptr);
  if (done < bytes) {
    finish();  // reports ffmpeg's message
    throw VideoError(path_ + ": ffmpeg stopped reading frames");
  }
  ++frames_;
}

void VideoWriter::finish() {
  if (pid_ < 0) return;
  ::close(pipe_);
  pipe_ = -1;
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  std::ifstream in(log_);
  std::string message((std::istreambuf_iterator<char>(in)), {});
  std::remove(log_.c_str());
  while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) message.pop_back();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || frames_ == 0) {
    std::remove(temp_.c_str());
    throw VideoError(path_ + ": ffmpeg failed" + (message.empty() ? std::string() : ": " + message) +
                     (frames_ == 0 ? " (no frames)" : ""));
  }
  std::error_code ec;
  std::filesystem::rename(temp_, path_, ec);
  if (ec) throw VideoError(path_ + ": cannot move the video into place (" + ec.message() + ")");
}

}  // namespace aaren::base
