#include "agents/scan/cuda/scan_variants.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace aaren::cuda {

namespace {

bool one_of(int x, std::initializer_list<int> allowed) {
  for (int a : allowed)
    if (x == a) return true;
  return false;
}

// A positive count, or nullopt.
std::optional<int64_t> parse_count(const std::string& text) {
  if (text.empty() || text.size() > 12 || text.find_first_not_of("0123456789") != std::string::npos) return {};
  const int64_t n = std::stoll(text);
  return n > 0 ? std::optional<int64_t>(n) : std::nullopt;
}

// |log a - log b|: shapes compare by ratio, so 3000 is as near 6000 as 1500.
double log_distance(int64_t a, int64_t b) {
  return std::abs(std::log(static_cast<double>(a)) - std::log(static_cast<double>(b)));
}

VariantRow parse_row(const std::string& line, const std::string& where) {
  std::istringstream in(line);
  std::string direction, dtype, bh, n, d, variant, extra;
  in >> direction >> dtype >> bh >> n >> d >> variant;
  const auto fail = [&](const std::string& what) { throw std::invalid_argument(where + ": " + what); };
  if (variant.empty() || (in >> extra))
    fail("expected 6 fields (direction, type, batch x heads, tokens, head size, variant), got '" + line + "'");
  if (direction != "forward" && direction != "backward")
    fail("direction must be forward or backward, got '" + direction + "'");
  if (dtype != "float" && dtype != "double") fail("type must be float or double, got '" + dtype + "'");
  const auto BH = parse_count(bh), N = parse_count(n), D = parse_count(d);
  if (!BH || !N || !D) fail("batch x heads, tokens and head size must be positive integers, got '" + line + "'");
  const auto v = parse_variant(variant);
  if (!v)
    fail("variant must be tTwWcC[s4] with T in 4, 8, 16, W in 1-16, C in 1, 2, 4 (e.g. t8w16c1 or t8w16c1s4), got '" +
         variant + "'");
  return {{direction, dtype, *BH, *N, *D}, *v};
}

}  // namespace

bool operator==(const ScanVariant& a, const ScanVariant& b) {
  return a.tokens_per_warp == b.tokens_per_warp && a.warps == b.warps && a.columns_per_lane == b.columns_per_lane &&
         a.scalar_tokens == b.scalar_tokens;
}

std::string to_string(const ScanVariant& v) {
  return "t" + std::to_string(v.tokens_per_warp) + "w" + std::to_string(v.warps) + "c" +
         std::to_string(v.columns_per_lane) + (v.scalar_tokens == 1 ? "" : "s" + std::to_string(v.scalar_tokens));
}

bool is_compiled(const ScanVariant& v) {
  return one_of(v.tokens_per_warp, {4, 8, 16}) && v.warps >= 1 && v.warps <= 16 &&
         one_of(v.columns_per_lane, {1, 2, 4}) && one_of(v.scalar_tokens, {1, 4});
}

std::optional<ScanVariant> parse_variant(const std::string& text) {
  ScanVariant v;
  char t = 0, w = 0, c = 0, sc = 's';
  int used = 0;
  const int read = std::sscanf(text.c_str(), "%c%d%c%d%c%d%n%c%d%n", &t, &v.tokens_per_warp, &w, &v.warps, &c,
                               &v.columns_per_lane, &used, &sc, &v.scalar_tokens, &used);
  // to_string(v) == text: the canonical spelling only (no signs, zeros, spaces, nor a written "s1").
  if ((read != 6 && read != 8) || t != 't' || w != 'w' || c != 'c' || sc != 's' ||
      used != static_cast<int>(text.size()) || !is_compiled(v) || to_string(v) != text)
    return {};
  return v;
}

std::vector<ScanVariant> sweep_variants() {
  std::vector<ScanVariant> out;
  for (int scalars : {1, 4})
    for (int tokens : {4, 8, 16})
      for (int warps : {4, 8, 16})
        for (int columns : {1, 2, 4}) out.push_back({tokens, warps, columns, scalars});
  return out;
}

ScanVariant VariantTable::choose(const ScanShape& shape) const {
  const VariantRow* best = nullptr;
  double nearest = std::numeric_limits<double>::infinity();
  for (const auto& row : rows_) {
    if (row.shape.direction != shape.direction || row.shape.dtype != shape.dtype) continue;
    const double distance = log_distance(row.shape.BH, std::max<int64_t>(shape.BH, 1)) +
                            log_distance(row.shape.N, std::max<int64_t>(shape.N, 1)) +
                            log_distance(row.shape.d, std::max<int64_t>(shape.d, 1));
    if (distance < nearest) nearest = distance, best = &row;  // the first of equals: the file's order decides
  }
  return best ? best->variant : ScanVariant{};
}

int columns_per_lane_for(const ScanVariant& variant, int64_t d) {
  int columns = variant.columns_per_lane;
  while (columns > 1 && d % columns != 0) columns /= 2;
  return columns;
}

bool vector_aligned(int columns, std::initializer_list<const void*> pointers, size_t element_bytes) {
  for (const void* p : pointers)
    if (p && reinterpret_cast<uintptr_t>(p) % (element_bytes * columns) != 0) return false;
  return true;
}

VariantTable parse_variant_table(const std::string& text, const std::string& source) {
  std::vector<VariantRow> rows;
  std::istringstream in(text);
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (const auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    rows.push_back(parse_row(line, source + ":" + std::to_string(number)));
  }
  return VariantTable(std::move(rows));
}

VariantTable read_variant_table(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::invalid_argument(path + ": cannot read the scan variant table (AAREN_SCAN_VARIANTS)");
  std::stringstream text;
  text << in.rdbuf();
  return parse_variant_table(text.str(), path);
}

std::string format_variant_table(const VariantTable& table, const std::string& comment) {
  std::ostringstream out;
  std::istringstream lines(comment);
  for (std::string line; std::getline(lines, line);) out << "# " << line << "\n";
  out << "# direction type BH N d variant\n";
  for (const auto& row : table.rows())
    out << row.shape.direction << ' ' << row.shape.dtype << ' ' << row.shape.BH << ' ' << row.shape.N << ' '
        << row.shape.d << ' ' << to_string(row.variant) << "\n";
  return out.str();
}

VariantTable variant_table_from_environment() {
  const char* path = std::getenv("AAREN_SCAN_VARIANTS");
  return path && *path ? read_variant_table(path) : VariantTable();
}

}  // namespace aaren::cuda
