#include "base/file_hash.h"

#include <openssl/evp.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <vector>

namespace aaren::base {

namespace {
std::string to_hex(const unsigned char* digest, unsigned int size) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < size; ++i) out += {hex[digest[i] >> 4], hex[digest[i] & 15]};
  return out;
}
}  // namespace

struct Sha256::Context {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), &EVP_MD_CTX_free};
};

Sha256::Sha256() : context_(new Context) {
  if (!context_->ctx || EVP_DigestInit_ex(context_->ctx.get(), EVP_sha256(), nullptr) != 1) {
    delete context_;
    throw std::runtime_error("OpenSSL's SHA-256 is unavailable");
  }
}

Sha256::~Sha256() { delete context_; }

void Sha256::update(const void* data, size_t size) {
  if (size > 0) EVP_DigestUpdate(context_->ctx.get(), data, size);
}

std::string Sha256::hex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_DigestFinal_ex(context_->ctx.get(), digest, &size);
  return to_hex(digest, size);
}

std::string sha256_of_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot read it to hash its content");
  Sha256 digest;
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    digest.update(buffer.data(), static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) throw std::runtime_error(path + ": read error while hashing it");
  return digest.hex();
}

nlohmann::json file_identity(const std::string& path, const nlohmann::json& known) {
  namespace fs = std::filesystem;
  const auto bytes = static_cast<int64_t>(fs::file_size(path));
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) throw std::runtime_error(path + ": cannot read its modification time");
  const auto modified = static_cast<int64_t>(info.st_mtime);  // seconds since 1970 (file_clock's epoch is not)
  nlohmann::json id{{"path", path}, {"bytes", bytes}, {"modified", modified}};
  const bool same = known.is_object() && known.value("path", "") == path &&
                    known.value("bytes", int64_t{-1}) == bytes && known.value("modified", int64_t{-1}) == modified &&
                    known.contains("sha256");
  id["sha256"] = same ? known.at("sha256").get<std::string>() : sha256_of_file(path);
  return id;
}

}  // namespace aaren::base
