// How busy this process's cores are with other work (/proc/stat), and when
// several LibTorch threads are warned about.
#include <catch2/catch.hpp>

#include <stdexcept>

#include "base/cpu_load.h"

using aaren::base::cores_busy_with_other_work;
using aaren::base::parse_proc_stat;
using aaren::base::shared_cores_warning;
using aaren::base::usable_cpus;

TEST_CASE("cpu load: /proc/stat's per-CPU lines, busy and total ticks", "[base]") {
  // proc(5): user nice system idle iowait irq softirq steal guest guest_nice.
  const auto cpus = parse_proc_stat(
      "cpu  30 2 10 500 8 1 1 3 7 0\n"
      "cpu0 10 1 5 300 4 1 0 2 7 0\n"
      "cpu1 20 1 5 200 4 0 1 1 0 0\n"
      "intr 12345 0 0\n"
      "cpufreq 1 2 3\n"
      "ctxt 99\n");
  REQUIRE(cpus.size() == 2);                         // the aggregate line and "cpufreq" are not CPUs
  CHECK(cpus.at(0).busy == 10 + 1 + 5 + 1 + 0 + 2);  // guest (7) is inside user already
  CHECK(cpus.at(0).total == 10 + 1 + 5 + 300 + 4 + 1 + 0 + 2);
  CHECK(cpus.at(1).busy == 20 + 1 + 5 + 0 + 1 + 1);
  CHECK(cpus.at(1).total == 20 + 1 + 5 + 200 + 4 + 0 + 1 + 1);
  // Old kernels wrote fewer columns; below 8 (no steal) is refused, by name.
  CHECK_THROWS_WITH(parse_proc_stat("cpu3 1 2 3 4 5 6 7\n"), Catch::Contains("cpu3"));
}

TEST_CASE("cpu load: more threads than idle cores are warned about, with the count that fits", "[base]") {
  CHECK(shared_cores_warning(1, 1.9, 2).empty());  // one thread waits for no other
  CHECK(shared_cores_warning(2, 0.1, 2).empty());  // a quiet machine
  CHECK(shared_cores_warning(2, 0.5, 2).empty());  // half a core of slack for the measurement
  CHECK(shared_cores_warning(8, 6.0, 16).empty());
  const std::string busy = shared_cores_warning(2, 1.0, 2);  // one busy neighbour on two cores
  CHECK_THAT(busy, Catch::Contains("--threads 2, but about 1.0 of the 2 cores"));
  CHECK_THAT(busy, Catch::Contains("use --threads 1,"));
  CHECK_THAT(busy, Catch::Contains("OMP_WAIT_POLICY=PASSIVE"));
  CHECK(busy.find('\n') == std::string::npos);
  CHECK_THAT(shared_cores_warning(8, 10.2, 16), Catch::Contains("use --threads 6,"));
  CHECK_THAT(shared_cores_warning(4, 3.9, 4), Catch::Contains("use --threads 1,"));  // never 0
  // More threads than cores: named as such, not blamed on other work.
  const std::string one_core = shared_cores_warning(2, 0.0, 1);
  CHECK_THAT(one_core, Catch::Contains("--threads 2, but this process may use only 1 core:"));
  CHECK_THAT(one_core, Catch::Contains("use --threads 1,"));
  CHECK_THAT(shared_cores_warning(4, 0.0, 2), Catch::Contains("only 2 cores:"));
}

TEST_CASE("cpu load: the busy cores measured here lie between none and every usable one", "[base]") {
  const int cpus = usable_cpus();
  CHECK(cpus >= 1);
  const auto busy = cores_busy_with_other_work(std::chrono::milliseconds(50));
  REQUIRE(busy.has_value());  // Linux: /proc/stat is there
  CHECK(*busy >= 0.0);
  CHECK(*busy <= cpus + 1e-9);
}
