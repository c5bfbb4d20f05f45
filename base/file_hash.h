// A file's content, named: its size and SHA-256 (OpenSSL), so a run records
// which bytes it trained on, not only where they were.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace aaren::base {

// SHA-256 over pieces fed in turn (OpenSSL's EVP), as 64 hex digits when finished.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, size_t size);
  std::string hex();  // finishes the digest; call once

 private:
  struct Context;
  Context* context_;
};

// SHA-256 of the file's bytes as 64 hex digits. Throws std::runtime_error
// naming the file when it cannot be read.
std::string sha256_of_file(const std::string& path);

// {"path", "bytes", "modified" (seconds since the epoch), "sha256"}. The hash
// is taken from `known` (a record made earlier) when path, size and
// modification time are the same, so a 1 GB dataset is read once per run.
nlohmann::json file_identity(const std::string& path, const nlohmann::json& known = nullptr);

}  // namespace aaren::base
