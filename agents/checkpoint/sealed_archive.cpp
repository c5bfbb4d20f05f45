#include "agents/checkpoint/sealed_archive.h"

#include <filesystem>
#include <iostream>
#include <sstream>

#include "runtime/sealed_file.h"

namespace aaren {

void save_sealed_archive(torch::serialize::OutputArchive& archive, const std::string& path) {
  std::ostringstream bytes;
  archive.save_to(bytes);
  try {
    sealed::write_sealed(path, bytes.str());
  } catch (const sealed::SealError& e) {
    throw std::runtime_error(e.what());
  }
}

torch::serialize::InputArchive load_sealed_archive(const std::string& path, const std::string& what) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw std::runtime_error(path + ": no such " + what);
  sealed::Unsealed file;
  try {
    file = sealed::read_sealed(path);
  } catch (const sealed::SealError& e) {
    throw std::runtime_error(std::string(e.what()) + " (expected an aaren " + what + ")");
  }
  if (file.legacy) {
    // LibTorch archives are zip files: "PK\x03\x04".
    if (file.payload.rfind("PK\x03\x04", 0) != 0)
      throw std::runtime_error(path + ": not an aaren " + what + " (no seal and not a LibTorch archive)");
    std::cerr << "warning: " << path << ": written without a checksum (by an older aaren-rl); its integrity "
              << "cannot be verified\n";
  }
  torch::serialize::InputArchive archive;
  try {
    std::istringstream in(file.payload);
    archive.load_from(in, torch::kCPU);  // weights saved from a GPU run load on any machine
  } catch (const c10::Error& e) {
    const std::string msg = e.msg();
    throw std::runtime_error(path + ": cannot read the " + what + " archive (" + msg.substr(0, msg.find('\n')) + ")");
  }
  return archive;
}

}  // namespace aaren
