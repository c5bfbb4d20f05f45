#include "base/table.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>
#include <stdexcept>

#include "base/atomic_file.h"

namespace aaren::base {

namespace {
std::string cell_text(const Cell& c) {
  if (auto s = std::get_if<std::string>(&c)) return *s;
  if (auto i = std::get_if<int64_t>(&c)) return std::to_string(*i);
  const double x = std::get<double>(c);
  std::ostringstream os;
  const double ax = std::abs(x);
  if (x != 0.0 && (ax < 1e-3 || ax >= 1e6))
    os << std::scientific << std::setprecision(2) << x;
  else
    os << std::fixed << std::setprecision(ax >= 100 ? 1 : 3) << x;
  return os.str();
}
}  // namespace

void Table::add_row(std::vector<Cell> row) {
  if (row.size() != columns.size())
    throw std::logic_error("table: row has " + std::to_string(row.size()) + " cells, expected " +
                           std::to_string(columns.size()));
  rows.push_back(std::move(row));
}

std::string Table::format() const {
  std::vector<size_t> width(columns.size());
  for (size_t c = 0; c < columns.size(); ++c) width[c] = columns[c].size();
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], cell_text(row[c]).size());
  std::ostringstream os;
  auto line = [&](const std::vector<std::string>& cells) {
    for (size_t c = 0; c < cells.size(); ++c)
      os << (c ? "  " : "") << std::setw(static_cast<int>(width[c])) << cells[c];
    os << "\n";
  };
  line(columns);
  for (const auto& row : rows) {
    std::vector<std::string> cells;
    for (const auto& cell : row) cells.push_back(cell_text(cell));
    line(cells);
  }
  return os.str();
}

void Table::write_csv(const std::string& path) const {
  std::ostringstream os;
  for (size_t c = 0; c < columns.size(); ++c) os << (c ? "," : "") << columns[c];
  os << "\n";
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) {
      os << (c ? "," : "");
      if (auto d = std::get_if<double>(&row[c])) {
        os << std::setprecision(9) << *d;
      } else {
        // RFC 4180: quote fields holding commas, quotes or newlines.
        const auto text = cell_text(row[c]);
        if (text.find_first_of(",\"\n") == std::string::npos) {
          os << text;
        } else {
          os << '"';
          for (char ch : text) os << (ch == '"' ? "\"\"" : std::string(1, ch));
          os << '"';
        }
      }
    }
    os << "\n";
  }
  write_file_atomically(path, os.str());
}

nlohmann::json Table::to_json() const {
  auto out = nlohmann::json::array();
  for (const auto& row : rows) {
    nlohmann::json obj;
    for (size_t c = 0; c < row.size(); ++c) std::visit([&](const auto& v) { obj[columns[c]] = v; }, row[c]);
    out.push_back(obj);
  }
  return out;
}

double as_number(const Cell& cell) {
  if (const auto* i = std::get_if<int64_t>(&cell)) return static_cast<double>(*i);
  if (const auto* d = std::get_if<double>(&cell)) return *d;
  return std::nan("");
}

double median(std::vector<double> samples) {
  if (samples.empty()) return 0.0;
  std::sort(samples.begin(), samples.end());
  const size_t n = samples.size();
  return n % 2 ? samples[n / 2] : 0.5 * (samples[n / 2 - 1] + samples[n / 2]);
}

}  // namespace aaren::base
