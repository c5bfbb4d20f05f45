// Files that know when they are damaged: a payload (e.g. a LibTorch archive)
// behind a small header holding its size and a 64-bit FNV-1a checksum.
//
//   8 bytes  magic "AARENSLD"
//   u32      format version (1)
//   u32      reserved (0)
//   u64      payload size in bytes
//   u64      FNV-1a (64 bit) of the payload
//   payload
//
// A flipped bit or a truncation anywhere is found before the payload is
// parsed, so a damaged checkpoint can never load and act differently.
// Standard library only.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace aaren::sealed {

// A file that is missing, truncated, damaged or not sealed: what() is one
// line naming the file.
struct SealError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// FNV-1a, 64 bit, with the standard offset basis 14695981039346656037.
uint64_t fnv1a(const char* data, size_t size, uint64_t basis = 14695981039346656037ull);

// Writes header + payload to `path` through `path.aaren-tmp.<pid>` renamed into
// place (base/atomic_file.h): a kill leaves either the old file or the new
// one, never half of one. Throws SealError naming the file.
void write_sealed(const std::string& path, const std::string& payload);

struct Unsealed {
  std::string payload;
  bool legacy = false;  // the file has no seal (written before sealing existed): not verified
};

// Reads a sealed file and verifies size and checksum; throws SealError. A
// file without the magic is returned whole with legacy = true, for callers
// that still accept unsealed files of older versions.
Unsealed read_sealed(const std::string& path);

}  // namespace aaren::sealed
