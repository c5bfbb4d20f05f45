// LibTorch archives in sealed files (runtime/sealed_file.h): checkpoints and
// behaviour policies carry a checksum of their bytes, so a damaged file is
// refused with one line instead of loading with altered weights.
#pragma once

#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <exception>
#include <string>

namespace aaren {

// The first line of text in a LibTorch error, to go inside a one-line message:
// c10::Error's message without its C++ backtrace, and TorchScript's parse
// errors (torch::jit::ErrorReport, not a c10::Error), whose text starts with a
// newline and goes on to quote the code it stopped at.
std::string torch_error_line(const std::exception& e);

// Serialises `archive` and writes it sealed, atomically (temp file + rename).
// Throws std::runtime_error naming the file.
void save_sealed_archive(torch::serialize::OutputArchive& archive, const std::string& path);

// Verifies and opens a sealed archive (onto the CPU). An unsealed archive of
// an older aaren-rl still loads, with a one-line warning on stderr that its
// integrity cannot be checked. Every failure (missing, truncated, damaged,
// not an archive) is a std::runtime_error whose what() is one line naming
// the file and `what` ("checkpoint", "policy file").
torch::serialize::InputArchive load_sealed_archive(const std::string& path, const std::string& what);

}  // namespace aaren
