// Benchmark results as a table: printed aligned for people, written as CSV
// (atomically) and as JSON for programs.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <variant>
#include <vector>

namespace aaren::bench {

using Cell = std::variant<std::string, int64_t, double>;

struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<Cell>> rows;

  void add_row(std::vector<Cell> row);
  std::string format() const;                        // aligned text, one header line
  void write_csv(const std::string& path) const;     // temp file + rename; throws on failure
  nlohmann::json to_json() const;                    // [{column: value, ...}, ...]
};

// Seconds since an arbitrary start, monotonic.
inline double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Writes `text` to `path` through a temporary file and a rename, so that a
// reader never sees half a file. Throws std::runtime_error naming the path.
void write_file_atomically(const std::string& path, const std::string& text);

// Median of the samples (sorted copy).
double median(std::vector<double> samples);

// A numeric cell as a double (NaN for text).
double as_number(const Cell& cell);

// Machine description for reports: CPU model, cores, LibTorch threads.
nlohmann::json machine_info();

}  // namespace aaren::bench
