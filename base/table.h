// Results as a table: printed aligned for people, written as CSV (atomically)
// and as JSON for programs.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace aaren::base {

using Cell = std::variant<std::string, int64_t, double>;

struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<Cell>> rows;

  void add_row(std::vector<Cell> row);
  std::string format() const;                     // aligned text, one header line
  void write_csv(const std::string& path) const;  // temp file + rename; throws base::FileWriteError
  nlohmann::json to_json() const;                 // [{column: value, ...}, ...]
};

// Median of the samples (sorted copy); 0 for none.
double median(std::vector<double> samples);

// A numeric cell as a double (NaN for text).
double as_number(const Cell& cell);

}  // namespace aaren::base
