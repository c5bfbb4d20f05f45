// Runs the real `aaren` program for end-to-end tests.
#pragma once

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "base/blas_kernels.h"
#include "tests/prerequisite.h"

namespace aaren::testing {

// Whether `AAREN_REPRODUCIBLE=1 aaren ...` can hold here: an x86-64 CPU with
// AVX2 and FMA, and OpenBLAS as the BLAS (base/blas_kernels.h). A machine
// without them cannot run the pinned kernels: its tests of committed bits are
// skipped (hardware, not a package the suite could require).
inline bool reproducible_mode_available() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && !aaren::base::blas_kernels().empty();
#else
  return false;
#endif
}

inline void skip_unless_reproducible_mode() {
  skip_unless_provided(reproducible_mode_available(),
                       "a CPU with AVX2 and FMA, and OpenBLAS (the kernels AAREN_REPRODUCIBLE=1 pins)");
}

struct RunResult {
  int exit_code;
  std::string output;
};

// Runs `command` through the shell and returns its exit code and stdout.
inline RunResult run_shell(const std::string& command) {
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("popen failed: " + command);
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// `args` are appended to the program path; with merge_stderr the output holds
// both streams, otherwise stderr is discarded.
inline RunResult run_program(const std::string& program, const std::string& args, bool merge_stderr = true) {
  return run_shell(program + " " + args + (merge_stderr ? " 2>&1" : " 2>/dev/null"));
}

inline RunResult run_aaren(const std::string& args, bool merge_stderr = true) {
  return run_program(AAREN_BINARY, args, merge_stderr);
}

// Only what the program writes to stderr (stdout discarded).
inline RunResult run_aaren_stderr(const std::string& args) {
  return run_shell(std::string(AAREN_BINARY) + " " + args + " 2>&1 >/dev/null");
}

// `aaren ARGS` refuses its input: exit 2, one line on stderr holding `message`.
inline void check_refused_in_one_line(const std::string& args, const std::string& message) {
  INFO(args);
  const auto r = run_aaren_stderr(args);
  INFO(r.output);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains(message));
  CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
}

// A text file's lines (none when it is missing).
inline std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

inline nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// Ctrl-C as a terminal sends it: `aaren ARGS` (its output to `log`) started as a
// foreground job in a process group of its own; once `ready()` holds (polled
// for up to a minute), SIGINT goes to that whole group. Returns the program's
// exit code, or -1 when it was not ready or did not end within two minutes.
template <class Ready>
int interrupt_like_a_terminal(const std::string& args, const std::string& log, const Ready& ready) {
  const std::string command = std::string("exec ") + AAREN_BINARY + " " + args + " > " + log + " 2>&1";
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  pid_t pid = 0;
  const int err = posix_spawn(&pid, "/bin/sh", nullptr, &attr, const_cast<char**>(argv), environ);
  posix_spawnattr_destroy(&attr);
  if (err != 0) return -1;
  const auto start = std::chrono::steady_clock::now();
  auto waited = [&] { return std::chrono::steady_clock::now() - start; };
  while (!ready() && waited() < std::chrono::seconds(60)) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const bool was_ready = ready();
  ::kill(-pid, SIGINT);
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (waited() > std::chrono::seconds(180)) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!was_ready) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace aaren::testing
