// The lean policy file: a trained Aaren decision policy as flat float32
// arrays, readable with the C++ standard library alone.
//
// Layout (little-endian), version 2. Version 1 is read too: the same layout,
// written before the header's fused_norm key, its checksum seeded with a
// non-standard basis (policy_file.cpp). A version-1 runtime refuses
// version 2, whose fused policies it would misread as the plain sum.
//   magic "AARENPOL" (8 bytes), u32 version, u32 header length L,
//   L bytes of header: "key=value" lines (sizes, return scale, target, env),
//   u32 tensor count, then per tensor: u32 name length, name, u32 rank,
//   u64 dims[rank], float32 data[prod(dims)];
//   u64 FNV-1a (64-bit, standard offset basis) checksum of every byte before it.
// Tensors carry the names of the LibTorch module's parameters (for example
// "backbone.block0.ff.fc_in.weight"), plus "state_mean" and "state_inv_std".
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace aaren::lean {

// A bad, truncated or mismatched policy file; the message names the file.
class PolicyFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct FloatTensor {
  std::vector<int64_t> dims;
  std::vector<float> data;
};

struct PolicyFile {
  static constexpr uint32_t kVersion = 2;        // written
  static constexpr uint32_t kOldestVersion = 1;  // still read
  std::map<std::string, std::string> header;     // sizes and settings, as text
  std::map<std::string, FloatTensor> tensors;    // by parameter name

  // Header values, parsed; throws PolicyFileError naming the key.
  int64_t integer(const std::string& key) const;
  double real(const std::string& key) const;
  const std::string& text(const std::string& key) const;
  // The tensor, checked to have these dims; throws PolicyFileError naming it.
  const FloatTensor& tensor(const std::string& name, const std::vector<int64_t>& dims) const;
};

// Written through a temporary file and a rename; throws PolicyFileError.
void write_policy_file(const std::string& path, const PolicyFile& file);
// Checks magic, version, sizes and checksum; throws PolicyFileError naming the file.
PolicyFile read_policy_file(const std::string& path);

}  // namespace aaren::lean
