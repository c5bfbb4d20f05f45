// Videos through Debian's ffmpeg (the program, fed raw RGB frames on a
// pipe): MP4 (H.264) or GIF (a palette made from the frames), chosen by the
// file's extension. Written to a temporary name and renamed when ffmpeg has
// finished, so a failed or interrupted encode leaves no half-written video.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace aaren::base {

struct VideoError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class VideoWriter {
 public:
  // path: *.mp4 or *.gif. Throws VideoError (no ffmpeg, another extension).
  VideoWriter(const std::string& path, int width, int height, double fps);
  ~VideoWriter();  // an unfinished video is discarded
  VideoWriter(const VideoWriter&) = delete;
  VideoWriter& operator=(const VideoWriter&) = delete;

  // rgb: width * height * 3 bytes, the top row first.
  void add_frame(const std::vector<uint8_t>& rgb);
  // Ends the encode and puts the file in place. Throws VideoError with
  // ffmpeg's own message when it failed.
  void finish();
  int64_t frames() const { return frames_; }

 private:
  std::string path_, temp_, log_;
  int width_, height_;
  int64_t frames_ = 0;
  int pipe_ = -1;
  int pid_ = -1;
};

}  // namespace aaren::base
