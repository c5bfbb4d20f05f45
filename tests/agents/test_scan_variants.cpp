// The CUDA scan's variant table (agents/scan/cuda/scan_variants.h), on any
// machine: names, the table's parser and its one-line errors, the nearest-
// shape choice, the default without a table, and the column fallback. (The
// variants themselves run in tests/cuda/test_scan_kernels.cpp, on a GPU and
// on the SIMT emulator.)
#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "agents/scan/cuda/scan_variants.h"

namespace {

using aaren::cuda::ScanVariant;

std::string error_of(const std::string& text) {
  try {
    aaren::cuda::parse_variant_table(text, "t.tsv");
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("scan variants: names read back, and only compiled cuts are variants", "[scan][cuda]") {
  const auto all = aaren::cuda::sweep_variants();
  CHECK(all.size() == 54);
  for (const auto& v : all) {
    INFO(aaren::cuda::to_string(v));
    CHECK(aaren::cuda::is_compiled(v));
    const auto back = aaren::cuda::parse_variant(aaren::cuda::to_string(v));
    REQUIRE(back);
    CHECK(*back == v);
  }
  CHECK(aaren::cuda::to_string(ScanVariant{}) == "t8w16c1");
  CHECK(aaren::cuda::parse_variant("t16w1c4"));
  CHECK(aaren::cuda::to_string(ScanVariant{4, 8, 2, 4}) == "t4w8c2s4");
  CHECK(aaren::cuda::parse_variant("t4w8c2s4")->scalar_tokens == 4);
  for (const char* bad :
       {"t7w16c1", "t8w17c1", "t8w0c1", "t8w16c3", "T8w16c1", "t8w16c1x", "t08w16c1", " t8w16c1", "t8w-1c1", "t8w+4c1",
        "t8c1w16", "", "t8w16", "t8w16c1s1", "t8w16c1s2", "t8w16c1s", "t8w16c1s4x", "t8w16c1x4"}) {
    INFO(bad);
    CHECK_FALSE(aaren::cuda::parse_variant(bad));
  }
}

TEST_CASE("scan variants: a table picks the nearest measured shape of its direction and type", "[scan][cuda]") {
  const auto table = aaren::cuda::parse_variant_table(
      "# measured on a GPU\n"
      "\n"
      "forward  float 64 600  128 t4w8c1   # short sequences\n"
      "forward  float 64 3000 128 t16w8c4\n"
      "backward float 64 3000 128 t8w16c2s4\n"
      "forward double 64 3000 128 t4w4c2\r\n",
      "t.tsv");
  REQUIRE(table.rows().size() == 4);
  using Shape = aaren::cuda::ScanShape;
  CHECK(table.choose(Shape{"forward", "float", 64, 3000, 128}) == ScanVariant{16, 8, 4});
  CHECK(table.choose(Shape{"forward", "float", 64, 10000, 128}) == ScanVariant{16, 8, 4});
  CHECK(table.choose(Shape{"forward", "float", 64, 700, 128}) == ScanVariant{4, 8, 1});
  // Nearest by ratio: 1300 is nearer 600 (x2.2) than 3000 (x2.3).
  CHECK(table.choose(Shape{"forward", "float", 64, 1300, 128}) == ScanVariant{4, 8, 1});
  CHECK(table.choose(Shape{"backward", "float", 2, 60, 16}) == ScanVariant{8, 16, 2, 4});
  CHECK(table.choose(Shape{"forward", "double", 64, 3000, 128}) == ScanVariant{4, 4, 2});
  // No row of that direction and type, or no table: the default.
  CHECK(table.choose(Shape{"backward", "double", 64, 3000, 128}) == ScanVariant{});
  CHECK(aaren::cuda::VariantTable().choose(Shape{"forward", "float", 64, 3000, 128}) == ScanVariant{});
  CHECK(table.choose(Shape{"forward", "float", 0, 0, 0}) == ScanVariant{4, 8, 1});  // empty shapes do not divide by 0
  // What format writes, parse reads.
  const auto text = aaren::cuda::format_variant_table(table, "two lines\nof comment");
  CHECK(text.rfind("# two lines\n# of comment\n", 0) == 0);
  const auto again = aaren::cuda::parse_variant_table(text, "again.tsv");
  REQUIRE(again.rows().size() == table.rows().size());
  for (size_t i = 0; i < again.rows().size(); ++i) {
    CHECK(again.rows()[i].variant == table.rows()[i].variant);
    CHECK(again.rows()[i].shape.N == table.rows()[i].shape.N);
    CHECK(again.rows()[i].shape.direction == table.rows()[i].shape.direction);
  }
}

TEST_CASE("scan variants: a malformed table is refused in one line naming the file, line and field", "[scan][cuda]") {
  CHECK(error_of("forward float 64 3000 128\n").rfind("t.tsv:1: expected 6 fields", 0) == 0);
  CHECK(error_of("# c\nforward float 64 3000 128 t8w16c1 extra\n").rfind("t.tsv:2: expected 6 fields", 0) == 0);
  CHECK(error_of("sideways float 64 3000 128 t8w16c1\n") ==
        "t.tsv:1: direction must be forward or backward, got 'sideways'");
  CHECK(error_of("forward half 64 3000 128 t8w16c1\n") == "t.tsv:1: type must be float or double, got 'half'");
  CHECK(error_of("forward float 0 3000 128 t8w16c1\n").rfind("t.tsv:1: batch x heads, tokens and head size", 0) == 0);
  CHECK(error_of("forward float 64 -3 128 t8w16c1\n").rfind("t.tsv:1: batch x heads, tokens and head size", 0) == 0);
  CHECK(error_of("forward float 64 3e3 128 t8w16c1\n").rfind("t.tsv:1: batch x heads, tokens and head size", 0) == 0);
  CHECK(error_of("forward float 64 3000 128 t7w16c1\n").rfind("t.tsv:1: variant must be tTwWcC[s4]", 0) == 0);
  CHECK(error_of("\n\nforward float 64 3000 128 t8w16c1\n").empty());
  // Each refusal is one line (a valid table gives no error at all).
  for (const std::string table : {"forward float 64 3000 128\n", "sideways float 64 3000 128 t8w16c1\n",
                                  "forward float 0 3000 128 t8w16c1\n", "forward float 64 3000 128 t7w16c1\n"}) {
    const auto error = error_of(table);
    CHECK_FALSE(error.empty());
    CHECK(error.find('\n') == std::string::npos);
  }
  // A file: read, or a missing one named with the variable that pointed at it.
  const auto dir = std::filesystem::temp_directory_path() / ("aaren_variants_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = (dir / "v.tsv").string();
  std::ofstream(path) << "backward float 8 100 32 t4w4c4\n";
  CHECK(aaren::cuda::read_variant_table(path).rows().size() == 1);
  try {
    aaren::cuda::read_variant_table((dir / "missing.tsv").string());
    FAIL("a missing table was read");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()) ==
          (dir / "missing.tsv").string() + ": cannot read the scan variant table (AAREN_SCAN_VARIANTS)");
  }
  // AAREN_SCAN_VARIANTS: unset or empty, no table; set, that file.
  ::unsetenv("AAREN_SCAN_VARIANTS");
  CHECK(aaren::cuda::variant_table_from_environment().rows().empty());
  ::setenv("AAREN_SCAN_VARIANTS", "", 1);
  CHECK(aaren::cuda::variant_table_from_environment().rows().empty());
  ::setenv("AAREN_SCAN_VARIANTS", path.c_str(), 1);
  CHECK(aaren::cuda::variant_table_from_environment().rows().size() == 1);
  ::unsetenv("AAREN_SCAN_VARIANTS");
  std::filesystem::remove_all(dir);
}

TEST_CASE("scan variants: columns per lane halve until they divide d, alignment only decides vector access",
          "[scan][cuda]") {
  const ScanVariant four{8, 16, 4};
  CHECK(aaren::cuda::columns_per_lane_for(four, 128) == 4);
  CHECK(aaren::cuda::columns_per_lane_for(four, 6) == 2);
  CHECK(aaren::cuda::columns_per_lane_for(four, 5) == 1);
  CHECK(aaren::cuda::columns_per_lane_for(ScanVariant{}, 128) == 1);
  alignas(64) static float buffer[64];
  CHECK(aaren::cuda::vector_aligned(4, {buffer, buffer + 32}, sizeof(float)));
  CHECK_FALSE(aaren::cuda::vector_aligned(4, {buffer, buffer + 2}, sizeof(float)));  // 8-byte aligned
  CHECK(aaren::cuda::vector_aligned(2, {buffer, buffer + 2}, sizeof(float)));
  CHECK_FALSE(aaren::cuda::vector_aligned(2, {buffer + 1}, sizeof(float)));
  CHECK(aaren::cuda::vector_aligned(4, {buffer, nullptr}, sizeof(float)));    // a null one: absent
  CHECK_FALSE(aaren::cuda::vector_aligned(4, {buffer + 4}, sizeof(double)));  // 16 bytes, not 32
  CHECK(aaren::cuda::vector_aligned(2, {buffer + 4}, sizeof(double)));
  CHECK(aaren::cuda::vector_aligned(1, {buffer + 1}, sizeof(float)));
}
