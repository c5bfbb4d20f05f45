// Whole-file writes that a reader (or a crash) never sees half done: the
// bytes go to PATH.aaren-tmp.<pid> in the same folder, then rename(2) puts them
// in place, which POSIX makes atomic on one file system. A killed writer leaves
// only a PATH.aaren-tmp.<pid> behind, never a truncated PATH.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>

namespace aaren::base {

// A file could not be written; the message names it and says why.
struct FileWriteError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The temporary name a write to `path` goes through: PATH.aaren-tmp.<pid>.
std::string temp_file_name(const std::string& path);

// Writes `bytes` to `path` atomically. Throws FileWriteError.
void write_file_atomically(const std::string& path, const std::string& bytes);

// For writers that need a file name of their own (libhdf5): `write` fills the
// temporary file it is given, then it is renamed to `path`. If `write` throws,
// the temporary file is removed and the exception passes on unchanged.
void write_through_temp_file(const std::string& path, const std::function<void(const std::string& tmp)>& write);

// Removes `<name>.aaren-tmp.<pid>` files in `dir` whose writer process is gone
// (left by a run that was killed while writing); a user's `<name>.tmp.<digits>`
// is not one. Returns how many.
int remove_stale_temp_files(const std::string& dir);

}  // namespace aaren::base
