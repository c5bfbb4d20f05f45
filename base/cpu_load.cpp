#include "base/cpu_load.h"

#include <sched.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace aaren::base {

namespace {

// "cpuN" -> N; -1 for the aggregate "cpu" line and every other line.
int cpu_number(const std::string& label) {
  if (label.size() <= 3 || label.compare(0, 3, "cpu") != 0) return -1;
  for (std::size_t i = 3; i < label.size(); ++i)
    if (label[i] < '0' || label[i] > '9') return -1;
  return std::stoi(label.substr(3));
}

std::optional<std::map<int, CpuTicks>> read_proc_stat() {
  std::ifstream in("/proc/stat");
  if (!in) return std::nullopt;
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_proc_stat(text);
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
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return std::max(1u, std::thread::hardware_concurrency());
  return std::max(1, CPU_COUNT(&set));
}

std::optional<double> cores_busy_with_other_work(std::chrono::milliseconds window) {
  cpu_set_t set;
  const bool masked = sched_getaffinity(0, sizeof set, &set) == 0;
  const auto before = read_proc_stat();
  std::this_thread::sleep_for(window);
  const auto after = read_proc_stat();
  if (!before || !after) return std::nullopt;
  double busy = 0;
  for (const auto& [cpu, end] : *after) {
    const auto start = before->find(cpu);
    if (start == before->end() || (masked && cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &set))) continue;
    const long long total = end.total - start->second.total;
    if (total > 0) busy += static_cast<double>(end.busy - start->second.busy) / static_cast<double>(total);
  }
  return busy;
}

std::string shared_cores_warning(int threads, double busy, int cores) {
  if (threads <= 1 || threads <= cores - busy + 0.5) return "";
  char amount[32];
  std::snprintf(amount, sizeof amount, "%.1f", busy);
  return "--threads " + std::to_string(threads) + ", but about " + amount + " of the " + std::to_string(cores) +
         " cores this process may use are busy with other work: LibTorch's OpenMP threads then wait for one "
         "another at every parallel step and can run many times slower (docs/BENCHMARKS.md, \"Threads beside "
         "other work\"); use --threads " +
         std::to_string(std::max(1, static_cast<int>(cores - busy + 0.5))) +
         ", or set OMP_WAIT_POLICY=PASSIVE in the environment";
}

}  // namespace aaren::base
