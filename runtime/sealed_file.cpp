#include "runtime/sealed_file.h"

#include "base/atomic_file.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

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
  try {
    base::write_file_atomically(path, header + payload);
  } catch (const base::FileWriteError& e) {
    throw SealError(e.what());
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

}  // namespace aaren::sealed
