// Runs the real `aaren` program for end-to-end tests.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace aaren::testing {

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

}  // namespace aaren::testing
