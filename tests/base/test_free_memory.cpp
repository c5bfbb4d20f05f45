// The memory a reader checks a file's declared sizes against: /proc/meminfo's
// MemAvailable + SwapFree, and a cgroup's limit less its usage.
#include <catch2/catch.hpp>

#include <cstdint>
#include <fstream>
#include <string>

#include "base/free_memory.h"

using aaren::base::memory_cgroup_path;
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

TEST_CASE("free memory: a cgroup's room is its limit less its usage, its inactive page cache counted free", "[base]") {
  CHECK(parse_cgroup_room("4294967296\n", "1073741824\n") == int64_t{3} << 30);
  CHECK(parse_cgroup_room("1000\n", "5000\n") == 0);  // over its limit already: no room
  // The page cache the kernel reclaims first: v2's inactive_file, v1's hierarchical total_inactive_file.
  const std::string v2_stat = "anon 1000\nfile 900\nactive_file 100\ninactive_file 800\n";
  CHECK(parse_cgroup_room("10000\n", "9500\n", v2_stat) == 10000 - (9500 - 800));
  const std::string v1_stat = "cache 900\ninactive_file 50\ntotal_cache 5000\ntotal_inactive_file 4000\n";
  CHECK(parse_cgroup_room("10000\n", "9500\n", v1_stat) == 10000 - (9500 - 4000));
  CHECK(parse_cgroup_room("10000\n", "100\n", "inactive_file 5000\n") == 10000);  // never more than its usage
  CHECK_FALSE(parse_cgroup_room("max\n", "1073741824\n"));                        // cgroup v2's "no limit"
  // cgroup v1's "no limit": 2^63 - 1 rounded down to a 4 KiB or a 64 KiB page.
  CHECK_FALSE(parse_cgroup_room("9223372036854771712\n", "4492468224\n"));
  CHECK_FALSE(parse_cgroup_room("9223372036854710272\n", "4492468224\n"));
  CHECK_FALSE(parse_cgroup_room("", "1\n"));
  CHECK_FALSE(parse_cgroup_room(" \n", "1\n"));
  CHECK_FALSE(parse_cgroup_room("12 34\n", "1\n"));
}

TEST_CASE("free memory: this process's memory cgroup, read from /proc/self/cgroup", "[base]") {
  const std::string v1 =
      "12:pids:/user.slice\n4:memory:/process_api/657eda\n3:cpu,cpuacct:/\n1:name=systemd:/init.scope\n0::/\n";
  CHECK(memory_cgroup_path(v1, /*v2=*/false) == "/process_api/657eda");
  CHECK(memory_cgroup_path("5:cpu,memory,blkio:/job/7\n", false) == "/job/7");  // memory among others
  CHECK(memory_cgroup_path("0::/system.slice/run-u42.scope\n", /*v2=*/true) == "/system.slice/run-u42.scope");
  CHECK(memory_cgroup_path(v1, true) == "/");
  CHECK_FALSE(memory_cgroup_path("4:memoryx:/a\n", false));
  CHECK_FALSE(memory_cgroup_path("12:pids:/a\n", true));
  CHECK_FALSE(memory_cgroup_path("", false));
}

TEST_CASE("free memory: this machine's answer, where it has one, is no more than its memory and swap", "[base]") {
  const auto room = memory_this_process_can_get();
  std::ifstream in("/proc/meminfo");
  if (!room || !in) {
    SUCCEED("not Linux: unknown");
    return;
  }
  // MemTotal and SwapTotal, written as the two lines parse_meminfo_available reads.
  std::string totals;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("MemTotal:", 0) == 0) totals += "MemAvailable:" + line.substr(9) + "\n";
    if (line.rfind("SwapTotal:", 0) == 0) totals += "SwapFree:" + line.substr(10) + "\n";
  }
  const auto most = parse_meminfo_available(totals);
  REQUIRE(most);
  CHECK(*room >= 0);
  CHECK(*room <= *most);
}
