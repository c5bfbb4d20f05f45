// How the CUDA scan's value kernels cut their work (scan_kernels.h), and the
// table that picks a cut per problem shape. Plain C++ (no CUDA): the table is
// written by the kernel benchmark's sweep on a GPU, read by the LibTorch
// wrapper at its first launch, and tested on any machine.
//
// A variant is three numbers:
//  - tokens_per_warp (4, 8, 16): the tokens each warp holds in registers per
//    chunk; more keeps more loads in flight per thread between barriers;
//  - warps (1-16): warps per block, so a block walks the sequence in chunks of
//    warps x tokens_per_warp tokens;
//  - columns_per_lane (1, 2, 4): value columns per lane, loaded and stored as
//    one vector (a block covers 32 x columns_per_lane columns). Where the
//    head size or the pointers' alignment does not allow it, the launch
//    halves it until they do, so every variant runs on every shape.
// Each variant is exact (the float64 brute-force test runs them all); they
// round differently from one another, as any change of summation order does.
//
// The table, a text file (AAREN_SCAN_VARIANTS names it), one row per measured
// shape, '#' starts a comment:
//   forward  float 64 3000 128 t16w8c4
//   backward float 64 3000 128 t8w16c2
// (direction, element type, batch x heads, tokens, head size, variant). A
// launch takes the row of its direction and type whose shape is nearest on
// a log scale; without one (or without a table) the default variant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

namespace aaren::cuda {

struct ScanVariant {
  int tokens_per_warp = 8;
  int warps = 16;
  int columns_per_lane = 1;
};
bool operator==(const ScanVariant& a, const ScanVariant& b);

// "t8w16c1"; parse_variant reads it back (nullopt for anything else,
// including a variant that is not compiled in).
std::string to_string(const ScanVariant& v);
std::optional<ScanVariant> parse_variant(const std::string& text);
bool is_compiled(const ScanVariant& v);
// Every compiled variant: 3 token counts x 3 warp counts (4, 8, 16) x 3 column counts.
std::vector<ScanVariant> sweep_variants();

// The columns per lane a launch of `variant` uses for head size d and these
// pointers (null ones ignored): halved until it divides d and every pointer is
// aligned to a vector of that many elements of `element_bytes`.
int columns_per_lane_for(const ScanVariant& variant, int64_t d, std::initializer_list<const void*> pointers,
                         size_t element_bytes);

struct ScanShape {
  std::string direction;  // "forward" or "backward"
  std::string dtype;      // "float" or "double"
  int64_t BH = 0, N = 0, d = 0;
};

struct VariantRow {
  ScanShape shape;
  ScanVariant variant;
};

class VariantTable {
 public:
  VariantTable() = default;
  explicit VariantTable(std::vector<VariantRow> rows) : rows_(std::move(rows)) {}
  // The variant of the nearest row of the same direction and type; the default without one.
  ScanVariant choose(const ScanShape& shape) const;
  const std::vector<VariantRow>& rows() const { return rows_; }

 private:
  std::vector<VariantRow> rows_;
};

// The table in `text`, from `source` (named in errors). Throws
// std::invalid_argument "SOURCE:LINE: ..." for a malformed row.
VariantTable parse_variant_table(const std::string& text, const std::string& source);
// The file's table; throws std::invalid_argument naming the file when it
// cannot be read or a row is malformed.
VariantTable read_variant_table(const std::string& path);
// The rows as parse_variant_table reads them, after `comment` (each of its
// lines prefixed "# ").
std::string format_variant_table(const VariantTable& table, const std::string& comment);
// The table AAREN_SCAN_VARIANTS names; an empty table when it is unset or empty.
VariantTable variant_table_from_environment();

}  // namespace aaren::cuda
