#include "agents/checkpoint/sealed_archive.h"

#include <ATen/Parallel.h>

#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "base/isolated_call.h"
#include "runtime/sealed_file.h"

namespace aaren {

std::string torch_error_line(const std::exception& e) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
  std::istringstream lines(c10_error ? c10_error->msg() : std::string(e.what()));
  for (std::string line; std::getline(lines, line);) {
    const auto begin = line.find_first_not_of(" \t\r");
    if (begin == std::string::npos) continue;
    const auto end = line.find_last_not_of(" \t\r:");
    return line.substr(begin, end + 1 - begin);
  }
  return "no message";
}

void save_sealed_archive(torch::serialize::OutputArchive& archive, const std::string& path) {
  std::ostringstream bytes;
  archive.save_to(bytes);
  try {
    sealed::write_sealed(path, bytes.str());
  } catch (const sealed::SealError& e) {
    throw std::runtime_error(e.what());
  }
}

namespace {

// The child's address space capped at what it has now plus 1 GiB and 8 times
// the archive: a damaged size field then fails as an allocation (an error
// line) rather than taking the machine's memory (12 GiB for one fuzzed file).
void cap_child_memory(size_t payload_bytes) {
  std::ifstream statm("/proc/self/statm");
  uint64_t pages = 0;
  if (!(statm >> pages)) return;
  const uint64_t now = pages * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  rlimit limit{};
  if (::getrlimit(RLIMIT_AS, &limit) != 0) return;
  const uint64_t cap = now + (uint64_t{1} << 30) + 8 * static_cast<uint64_t>(payload_bytes);
  // Never above a limit the user set (ulimit -v).
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur > cap) limit.rlim_cur = cap;
  ::setrlimit(RLIMIT_AS, &limit);
}

// An unsealed archive's bytes are unverified, and LibTorch's TorchScript
// parser crashes on some damaged ones (a segfault in ScriptTypeParser, found
// by tests/data/test_input_fuzz.cpp): such a file is parsed in a child process
// first (base/isolated_call.h), which answers "ok" or "E" and LibTorch's
// error; its crash, or its error, is this file's.
void parse_unsealed_in_child(const std::string& payload, const std::string& path, const std::string& what) {
  const double timeout_seconds = 120.0 + static_cast<double>(payload.size()) / 20e6;
  const auto answer = base::call_in_child(
      [&] {
        at::set_num_threads(1);  // the parent's OpenMP threads do not exist here
        cap_child_memory(payload.size());
        try {
          torch::serialize::InputArchive archive;
          std::istringstream in(payload);
          archive.load_from(in, torch::kCPU);
          return std::string("ok");
        } catch (const std::exception& e) {
          return "E" + torch_error_line(e);
        }
      },
      timeout_seconds);
  using End = base::IsolatedAnswer::End;
  const std::string unverified = ": it has no checksum (an older aaren-rl wrote it) and is damaged";
  if (answer.end == End::kCrashed && answer.signal == SIGKILL)
    throw std::runtime_error(path + ": the child process checking the " + what + " was killed (" +
                             base::describe_signal(SIGKILL) + "): out of memory?");
  if (answer.end == End::kCrashed)
    throw std::runtime_error(path + ": LibTorch's reader crashed on the " + what + " (" +
                             base::describe_signal(answer.signal) + ")" + unverified);
  if (answer.end == End::kTimedOut)
    throw std::runtime_error(path + ": LibTorch's reader did not finish reading the " + what + " in " +
                             std::to_string(static_cast<int>(timeout_seconds)) + " s" + unverified);
  if (answer.end == End::kNoChild) throw std::runtime_error(path + ": " + answer.text + " to check the " + what);
  if (answer.text.rfind("E", 0) == 0)
    throw std::runtime_error(path + ": cannot read the " + what + " archive (" + answer.text.substr(1) + ")");
  if (answer.text != "ok")
    throw std::runtime_error(path + ": the child process checking the " + what + " ended without an answer");
}

}  // namespace

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
    parse_unsealed_in_child(file.payload, path, what);
  }
  torch::serialize::InputArchive archive;
  try {
    std::istringstream in(file.payload);
    archive.load_from(in, torch::kCPU);  // weights saved from a GPU run load on any machine
  } catch (const std::exception& e) {    // c10::Error, TorchScript's ErrorReport, std::out_of_range
    throw std::runtime_error(path + ": cannot read the " + what + " archive (" + torch_error_line(e) + ")");
  }
  return archive;
}

}  // namespace aaren
