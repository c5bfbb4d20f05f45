#include "base/csv_log.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "base/atomic_file.h"

namespace aaren::base {

int64_t open_csv_log(std::ofstream& log, const std::string& path, const std::string& header, int64_t keep_through) {
  int64_t dropped = 0;
  std::string kept = header + "\n";
  if (keep_through >= 0) {
    std::ifstream in(path);
    std::string line;
    if (in && std::getline(in, line)) {
      if (line == header) {
        while (std::getline(in, line)) {
          if (line.empty()) continue;
          char* end = nullptr;
          const long long first = std::strtoll(line.c_str(), &end, 10);
          if (end != line.c_str() && *end == ',' && first <= keep_through)
            kept += line + "\n";
          else
            ++dropped;
        }
      } else {
        in.close();
        std::error_code ec;
        std::filesystem::rename(path, path + ".old", ec);
      }
    }
  }
  write_file_atomically(path, kept);
  log.open(path, std::ios::app);
  if (!log) throw FileWriteError(path + ": cannot open for appending (" + std::strerror(errno) + ")");
  return dropped;
}

}  // namespace aaren::base
