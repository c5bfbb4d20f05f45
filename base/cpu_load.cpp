#include "base/cpu_load.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace aaren::base {

namespace {

// "cpuN" -> N; -1 for the aggregate "cpu" line and every other line.
int cpu_number(const std::string& label) {
  if (label.size() <= 3 || label.compare(0, 3, "cpu") != 0) return -1;
  for (std::size_t i = 3; i < label.size(); ++i)
    if (label[i] < '0' || label[i] > '9') return -1;
  return std::stoi(label.substr(3));
}

// nullopt where /proc/stat is missing or not as proc(5) describes it: a
// warning's measurement never stops a command.
std::optional<std::map<int, CpuTicks>> read_proc_stat() {
  std::ifstream in("/proc/stat");
  if (!in) return std::nullopt;
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  try {
    return parse_proc_stat(text);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// The CPUs this process may run on, by number; empty where the mask cannot
// be read. Sized for every CPU the system may have (a fixed cpu_set_t holds
// 1,024, and sched_getaffinity fails with a smaller mask than the kernel's).
std::vector<int> affinity_cpus() {
  const long configured = sysconf(_SC_NPROCESSORS_CONF);
  const int count = static_cast<int>(std::max(1024L, configured));
  cpu_set_t* set = CPU_ALLOC(count);
  const std::size_t size = CPU_ALLOC_SIZE(count);
  std::vector<int> cpus;
  if (set && sched_getaffinity(0, size, set) == 0)
    for (int cpu = 0; cpu < count; ++cpu)
      if (CPU_ISSET_S(cpu, size, set)) cpus.push_back(cpu);
  if (set) CPU_FREE(set);
  return cpus;
}

}  // namespace

std::map<int, CpuTicks> parse_proc_stat(const std::string& text) {
  std::map<int, CpuTicks> cpus;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string label;
    fields >> label;
    const int cpu = cpu_number(label);
    if (cpu < 0) continue;
    // user nice system idle iowait irq softirq steal
    long long t[8];
    for (long long& x : t)
      if (!(fields >> x)) throw std::runtime_error("/proc/stat: line '" + label + "' has fewer than 8 numbers");
    cpus[cpu] = {t[0] + t[1] + t[2] + t[5] + t[6] + t[7], t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7]};
  }
  return cpus;
}

int usable_cpus() {
  const auto cpus = affinity_cpus();
  if (cpus.empty()) return std::max(1u, std::thread::hardware_concurrency());
  return static_cast<int>(cpus.size());
}

std::optional<double> cores_busy_with_other_work(std::chrono::milliseconds window) {
  const auto usable = affinity_cpus();
  const auto before = read_proc_stat();
  std::this_thread::sleep_for(window);
  const auto after = read_proc_stat();
  if (!before || !after) return std::nullopt;
  double busy = 0;
  for (const auto& [cpu, end] : *after) {
    const auto start = before->find(cpu);
    if (start == before->end()) continue;
    if (!usable.empty() && !std::binary_search(usable.begin(), usable.end(), cpu)) continue;
    const long long total = end.total - start->second.total;
    // iowait may go down between two reads (proc(5)): a CPU counts 0 to 1.
    if (total > 0)
      busy += std::clamp(static_cast<double>(end.busy - start->second.busy) / static_cast<double>(total), 0.0, 1.0);
  }
  return busy;
}

std::string shared_cores_warning(int threads, double busy, int cores) {
  if (threads <= 1 || threads <= cores - busy + 0.5) return "";
  const std::string cures = "; use --threads " + std::to_string(std::max(1, static_cast<int>(cores - busy + 0.5))) +
                            ", or set OMP_WAIT_POLICY=PASSIVE in the environment";
  const std::string cost =
      ": LibTorch's OpenMP threads then wait for one another at every parallel step and can run many times slower "
      "(docs/BENCHMARKS.md, \"Threads beside other work\")";
  if (threads > cores)
    return "--threads " + std::to_string(threads) + ", but this process may use only " + std::to_string(cores) +
           (cores == 1 ? " core" : " cores") + cost + cures;
  char amount[32];  // to_chars: "1.0" whatever LC_NUMERIC a host program has set (snprintf would write "1,0")
  char* amount_end = std::to_chars(amount, amount + sizeof amount, busy, std::chars_format::fixed, 1).ptr;
  return "--threads " + std::to_string(threads) + ", but about " + std::string(amount, amount_end) + " of the " +
         std::to_string(cores) + " cores this process may use are busy with other work" + cost + cures;
}

}  // namespace aaren::base
