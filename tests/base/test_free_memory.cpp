// The memory a reader checks a file's declared sizes against: /proc/meminfo's
// MemAvailable + SwapFree, and a cgroup's limit less its usage.
#include <catch2/catch.hpp>

#include <cstdint>

#include "base/free_memory.h"

using aaren::base::memory_this_process_can_get;
using aaren::base::parse_cgroup_room;
using aaren::base::parse_meminfo_available;

TEST_CASE("free memory: MemAvailable plus SwapFree from /proc/meminfo, in bytes", "[base]") {
  const std::string meminfo =
      "MemTotal:       24683772 kB\n"
      "MemFree:          123456 kB\n"
      "MemAvailable:   22988684 kB\n"
      "SwapTotal:       2097148 kB\n"
      "SwapFree:        1048576 kB\n";
  CHECK(parse_meminfo_available(meminfo) == (int64_t{22988684} + 1048576) * 1024);
  // Either line missing, or not "<n> kB": unknown, not zero (a caller then goes ahead).
  CHECK_FALSE(parse_meminfo_available("MemTotal: 1 kB\nSwapFree: 0 kB\n"));
  CHECK_FALSE(parse_meminfo_available("MemAvailable: 5 kB\n"));
  CHECK_FALSE(parse_meminfo_available("MemAvailable: 5 MB\nSwapFree: 0 kB\n"));
  CHECK_FALSE(parse_meminfo_available("MemAvailable: -5 kB\nSwapFree: 0 kB\n"));
  CHECK_FALSE(parse_meminfo_available("MemAvailable: 99999999999999999999 kB\nSwapFree: 0 kB\n"));
  // "MemAvailableX" is another line, not this one.
  CHECK_FALSE(parse_meminfo_available("MemAvailableX: 5 kB\nSwapFree: 0 kB\n"));
}

TEST_CASE("free memory: a cgroup's room is its limit less its usage, and no limit is unknown", "[base]") {
  CHECK(parse_cgroup_room("4294967296\n", "1073741824\n") == int64_t{3} << 30);
  CHECK(parse_cgroup_room("1000\n", "5000\n") == 0);        // over its limit already: no room
  CHECK_FALSE(parse_cgroup_room("max\n", "1073741824\n"));  // cgroup v2's "no limit"
  // cgroup v1's "no limit": 2^63 - 1 rounded down to a 4 KiB or a 64 KiB page.
  CHECK_FALSE(parse_cgroup_room("9223372036854771712\n", "4492468224\n"));
  CHECK_FALSE(parse_cgroup_room("9223372036854710272\n", "4492468224\n"));
  CHECK_FALSE(parse_cgroup_room("", "1\n"));
  CHECK_FALSE(parse_cgroup_room("12 34\n", "1\n"));
}

TEST_CASE("free memory: this machine's answer, where it has one, is positive and within int64", "[base]") {
  const auto room = memory_this_process_can_get();
  if (!room)
    SUCCEED("not Linux: unknown");
  else
    CHECK(*room > 0);
}
