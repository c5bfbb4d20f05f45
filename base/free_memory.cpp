#include "base/free_memory.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iterator>
#include <sstream>

namespace aaren::base {

namespace {

std::optional<int64_t> parse_count(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return std::nullopt;
  const auto end = text.find_last_not_of(" \t\n");
  int64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data() + begin, text.data() + end + 1, value);
  if (ec != std::errc() || ptr != text.data() + end + 1 || value < 0) return std::nullopt;
  return value;
}

// The value of a "Name:   <n> kB" line, in bytes.
std::optional<int64_t> meminfo_bytes(const std::string& text, const std::string& name) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name + ":", 0) != 0) continue;
    std::istringstream fields(line.substr(name.size() + 1));
    std::string number, unit;
    fields >> number >> unit;
    const auto kb = parse_count(number);
    if (!kb || unit != "kB" || *kb > INT64_MAX / 1024) return std::nullopt;
    return *kb * 1024;
  }
  return std::nullopt;
}

std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// This process's cgroup limit, v2 first, then v1's memory controller (in a
// container, /sys/fs/cgroup is the container's own group).
std::optional<int64_t> cgroup_room() {
  for (const auto& [limit, usage] :
       {std::pair<const char*, const char*>{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"},
        {"/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"}}) {
    const auto l = read_text(limit), u = read_text(usage);
    if (l && u) return parse_cgroup_room(*l, *u);
  }
  return std::nullopt;
}

}  // namespace

std::optional<int64_t> parse_meminfo_available(const std::string& text) {
  const auto available = meminfo_bytes(text, "MemAvailable"), swap = meminfo_bytes(text, "SwapFree");
  if (!available || !swap || *available > INT64_MAX - *swap) return std::nullopt;
  return *available + *swap;
}

std::optional<int64_t> parse_cgroup_room(const std::string& limit, const std::string& usage) {
  const auto l = parse_count(limit), u = parse_count(usage);
  // v1 writes "no limit" as 2^63 - 1 rounded down to the page size (4 KiB or
  // 64 KiB): anything from 2^62 bytes up is taken as no limit.
  constexpr int64_t kNoLimit = int64_t{1} << 62;
  if (!l || !u || *l >= kNoLimit) return std::nullopt;
  return std::max<int64_t>(0, *l - *u);
}

std::optional<int64_t> memory_this_process_can_get() {
  const auto text = read_text("/proc/meminfo");
  const auto machine = text ? parse_meminfo_available(*text) : std::nullopt;
  const auto group = cgroup_room();
  if (machine && group) return std::min(*machine, *group);
  return machine ? machine : group;
}

}  // namespace aaren::base
