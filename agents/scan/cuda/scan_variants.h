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
//    head size does not allow it, the launch halves it until it does, so
//    every variant runs on every shape; where the pointers are not aligned
//    to a vector, the columns move one by one (the same arithmetic);
//  - scalar_tokens (1, 4): consecutive tokens per lane in the two kernels
//    that walk a sequence with one warp (the forward's (m, u) scan and the
//    backward's P suffix scan): 4 puts 4 loads in flight per lane and walks
//    the sequence in a quarter of the steps.
// Each variant is exact (the float64 brute-force test runs them all); they
// round differently from one another, as any change of summation order does.
//
// The table, a text file (AAREN_SCAN_VARIANTS names it), one row per measured
// shape, '#' starts a comment:
//   forward  float 64 3000 128 t16w8c4s4
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
  int scalar_tokens = 1;
};
bool operator==(const ScanVariant& a, const ScanVariant& b);

// "t8w16c1", or "t8w16c1s4" with 4 scalar tokens; parse_variant reads it back (nullopt for anything else,
// including a variant that is not compiled in).
std::string to_string(const ScanVariant& v);
std::optional<ScanVariant> parse_variant(const std::string& text);
bool is_compiled(const ScanVariant& v);
// Every variant the sweep times: 3 token counts x 3 warp counts (4, 8, 16) x
// 3 column counts x 2 scalar token counts.
std::vector<ScanVariant> sweep_variants();

// The columns per lane a launch of `variant` uses for head size d: halved
// until it divides d. (From d alone: a cut's arithmetic, and so its bits,
// never depend on where the tensors lie.)
int columns_per_lane_for(const ScanVariant& variant, int64_t d);
// Whether every pointer (null ones ignored) is aligned to a vector of
// `columns` elements of `element_bytes`, so that those columns move as one
// access; otherwise they move one by one, with the same arithmetic.
bool vector_aligned(int columns, std::initializer_list<const void*> pointers, size_t element_bytes);

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
