#include "runtime/sealed_file.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>

namespace aaren::sealed {

namespace {

constexpr char kMagic[8] = {'A', 'A', 'R', 'E', 'N', 'S', 'L', 'D'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderSize = 8 + 4 + 4 + 8 + 8;

template <class T>
void put(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}

template <class T>
T get(const std::string& in, size_t pos) {
  T value;
  std::memcpy(&value, in.data() + pos, sizeof(T));
  return value;
}

}  // namespace

uint64_t fnv1a(const char* data, size_t size, uint64_t basis) {
  uint64_t h = basis;
  for (size_t i = 0; i < size; ++i) {
    h ^= static_cast<unsigned char>(data[i]);
    h *= 1099511628211ull;
  }
  return h;
}

void write_sealed(const std::string& path, const std::string& payload) {
  std::string header(kMagic, sizeof kMagic);
  put<uint32_t>(header, kVersion);
  put<uint32_t>(header, 0);
  put<uint64_t>(header, payload.size());
  put<uint64_t>(header, fnv1a(payload.data(), payload.size()));
  write_file_atomically(path, header + payload);
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw SealError(path + ": cannot open for writing (is the folder writable?)");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      out.close();
      std::remove(tmp.c_str());
      throw SealError(path + ": write failed (disk full?)");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw SealError(path + ": cannot rename the temporary file into place");
  }
}

Unsealed read_sealed(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) throw SealError(path + ": no such file");
  if (!std::filesystem::is_regular_file(status)) throw SealError(path + ": not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SealError(path + ": cannot open for reading");
  Unsealed u;
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < sizeof kMagic || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    u.payload = std::move(bytes);
    u.legacy = true;
    return u;
  }
  if (bytes.size() < kHeaderSize) throw SealError(path + ": truncated (the header is incomplete)");
  const auto version = get<uint32_t>(bytes, 8);
  if (version != kVersion)
    throw SealError(path + ": sealed-file version " + std::to_string(version) + ", this build reads version " +
                    std::to_string(kVersion) + " (damaged, or written by a newer aaren-rl)");
  if (get<uint32_t>(bytes, 12) != 0) throw SealError(path + ": damaged header (reserved field not 0)");
  const auto size = get<uint64_t>(bytes, 16);
  const auto checksum = get<uint64_t>(bytes, 24);
  if (size != bytes.size() - kHeaderSize)
    throw SealError(path + ": " + std::to_string(bytes.size() - kHeaderSize) + " payload bytes, the header says " +
                    std::to_string(size) + " (truncated or damaged)");
  if (fnv1a(bytes.data() + kHeaderSize, size) != checksum)
    throw SealError(path + ": checksum mismatch (the file is damaged)");
  u.payload = bytes.substr(kHeaderSize);
  return u;
}

int remove_stale_temp_files(const std::string& dir) {
  static const std::regex temp_name(R"(.+\.tmp\.([0-9]+))");
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

}  // namespace aaren::sealed
