// Test fixtures made by h5py (tests/data/make_fixtures.py), once per process.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/prerequisite.h"

namespace aaren::testing {

// True when /usr/bin/python3 can import h5py.
inline bool have_h5py() {
  static const bool ok = std::system("/usr/bin/python3 -c 'import h5py' >/dev/null 2>&1") == 0;
  return ok;
}

#define REQUIRE_H5PY()                                                   \
  AAREN_REQUIRE_PREREQUISITE(!::aaren::testing::h5py_fixtures().empty(), \
                             "/usr/bin/python3 with h5py (apt-get install python3-h5py)")

// A fresh temporary directory, removed at exit.
inline std::string temp_dir(const std::string& tag) {
  std::string pattern = (std::filesystem::temp_directory_path() / ("aaren_test_" + tag + "_XXXXXX")).string();
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  struct Remover {
    std::string path;
    ~Remover() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static std::vector<std::unique_ptr<Remover>> removers;
  removers.push_back(std::make_unique<Remover>());  // (not from a temporary: its destructor would delete)
  removers.back()->path = pattern;
  return pattern;
}

// A file's whole content, byte for byte ("" when it cannot be read).
inline std::string text_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// Directory holding the h5py-made files ("" when h5py is missing).
inline const std::string& h5py_fixtures() {
  static const std::string dir = [] {
    if (!have_h5py()) return std::string();
    const auto d = temp_dir("fixtures");
    const std::string cmd = "/usr/bin/python3 " AAREN_SOURCE_DIR "/tests/data/make_fixtures.py " + d + " 2>&1";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("make_fixtures.py failed");
    return d;
  }();
  return dir;
}

}  // namespace aaren::testing
