#include "base/atomic_file.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>

namespace aaren::base {

// ".aaren-tmp.": a mark no user's file carries by chance ("notes.tmp.2024" is a user's), so
// that remove_stale_temp_files removes the toolkit's own leftovers and nothing else.
std::string temp_file_name(const std::string& path) { return path + ".aaren-tmp." + std::to_string(::getpid()); }

void write_through_temp_file(const std::string& path, const std::function<void(const std::string& tmp)>& write) {
  const std::string tmp = temp_file_name(path);
  try {
    write(tmp);
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw FileWriteError(path + ": cannot rename the temporary file into place");
  }
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
  write_through_temp_file(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw FileWriteError(path + ": cannot open for writing (is the folder writable?)");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) throw FileWriteError(path + ": write failed (disk full?)");
  });
}

int remove_stale_temp_files(const std::string& dir) {
  static const std::regex temp_name(R"(.+\.aaren-tmp\.([0-9]+))");
  std::error_code ec;
  int removed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::smatch m;
    const std::string name = entry.path().filename().string();
    if (!std::regex_match(name, m, temp_name)) continue;
    const long pid = std::stol(m[1].str().substr(0, 9));
    if (pid == ::getpid()) continue;
    // kill(pid, 0) fails with ESRCH when no such process exists.
    const bool writer_gone = ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
    if (writer_gone && std::filesystem::remove(entry.path(), ec)) ++removed;
  }
  return removed;
}

}  // namespace aaren::base
