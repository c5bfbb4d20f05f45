// CSV logs that a long run appends to as it goes and a resumed run continues:
// the header is written first (and flushed), and a resumed run keeps only the
// rows up to the update (or step) it resumes from, so rows written after that
// point by the run that was stopped do not appear twice.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>

namespace aaren::base {

// Opens `path` for appending rows under `header` (no trailing newline).
// keep_through < 0: a new log (header only). Otherwise the rows of an
// existing log whose first column is <= keep_through are kept (atomically
// rewritten), the rest dropped; a log with another header, or none, is
// moved aside to PATH.old and started afresh. Returns the rows dropped.
// Throws FileWriteError (base/atomic_file.h) when the file cannot be written.
int64_t open_csv_log(std::ofstream& log, const std::string& path, const std::string& header, int64_t keep_through);

}  // namespace aaren::base
