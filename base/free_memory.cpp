#include "base/free_memory.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

namespace aaren::base {

namespace {

std::optional<int64_t> parse_count(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t\n");
  if (begin == std::string::npos) return std::nullopt;
  const auto end = text.find_last_not_of(" \t\n");
  int64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data() + begin, text.data() + end + 1, value);
  if (ec != std::errc() || ptr != text.data() + end + 1 || value < 0) return std::nullopt;
  return value;
}

// The number after `name` on a "name <n>[ kB]" line of /proc/meminfo or memory.stat.
std::optional<int64_t> field_after(const std::string& text, const std::string& name, std::string* unit = nullptr) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string key, number;
    fields >> key >> number;
    if (key != name) continue;
    if (unit) fields >> *unit;
    return parse_count(number);
  }
  return std::nullopt;
}

// "MemAvailable:   <n> kB", in bytes.
std::optional<int64_t> meminfo_bytes(const std::string& text, const std::string& name) {
  std::string unit;
  const auto kb = field_after(text, name + ":", &unit);
  if (!kb || unit != "kB" || *kb > INT64_MAX / 1024) return std::nullopt;
  return *kb * 1024;
}

std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The least room under `group` and each group above it up to `mount` (the
// hierarchy's root, or a container's own group under a cgroup namespace).
std::optional<int64_t> least_room_up_from(std::filesystem::path group, const std::filesystem::path& mount,
                                          const char* limit_file, const char* usage_file) {
  std::optional<int64_t> least;
  for (;;) {
    const auto limit = read_text((group / limit_file).string()), usage = read_text((group / usage_file).string());
    if (limit && usage) {
      const auto room = parse_cgroup_room(*limit, *usage, read_text((group / "memory.stat").string()).value_or(""));
      if (room) least = least ? std::min(*least, *room) : *room;
    }
    if (group == mount || !group.has_relative_path() || group.parent_path() == group) return least;
    group = group.parent_path();
  }
}

// This process's memory cgroup, v2 first, then v1's memory controller; where
// /proc/self/cgroup names a group the mount does not show (a cgroup
// namespace), the mount's root is this process's group.
std::optional<int64_t> cgroup_room() {
  const auto self = read_text("/proc/self/cgroup").value_or("");
  const std::filesystem::path v2_mount = "/sys/fs/cgroup", v1_mount = "/sys/fs/cgroup/memory";
  // cgroup.controllers is in every v2 group, the root too (memory.max is not in the root).
  std::error_code ec;
  const bool v2 = std::filesystem::exists(v2_mount / "cgroup.controllers", ec);
  const auto mount = v2 ? v2_mount : v1_mount;
  const auto path = memory_cgroup_path(self, v2);
  const auto relative = std::filesystem::path(path.value_or("/")).relative_path();
  auto group = relative.empty() ? mount : mount / relative;
  if (!std::filesystem::is_directory(group, ec)) group = mount;
  return v2 ? least_room_up_from(group, mount, "memory.max", "memory.current")
            : least_room_up_from(group, mount, "memory.limit_in_bytes", "memory.usage_in_bytes");
}

}  // namespace

std::optional<int64_t> parse_meminfo_available(const std::string& text) {
  const auto available = meminfo_bytes(text, "MemAvailable"), swap = meminfo_bytes(text, "SwapFree");
  if (!available || !swap || *available > INT64_MAX - *swap) return std::nullopt;
  return *available + *swap;
}

std::optional<int64_t> parse_cgroup_room(const std::string& limit, const std::string& usage, const std::string& stat) {
  const auto l = parse_count(limit), u = parse_count(usage);
  // v1 writes "no limit" as 2^63 - 1 rounded down to the page size (4 KiB or
  // 64 KiB): anything from 2^62 bytes up is taken as no limit.
  constexpr int64_t kNoLimit = int64_t{1} << 62;
  if (!l || !u || *l >= kNoLimit) return std::nullopt;
  auto reclaimable = field_after(stat, "total_inactive_file");
  if (!reclaimable) reclaimable = field_after(stat, "inactive_file");
  const int64_t used = std::max<int64_t>(0, *u - std::min(*u, reclaimable.value_or(0)));
  return std::max<int64_t>(0, *l - used);
}

std::optional<std::string> memory_cgroup_path(const std::string& proc_self_cgroup, bool v2) {
  std::istringstream lines(proc_self_cgroup);
  for (std::string line; std::getline(lines, line);) {
    const auto first = line.find(':'), second = first == std::string::npos ? first : line.find(':', first + 1);
    if (second == std::string::npos) continue;
    const auto controllers = "," + line.substr(first + 1, second - first - 1) + ",";
    const bool match = v2 ? line.compare(0, first, "0") == 0 && controllers == ",,"
                          : controllers.find(",memory,") != std::string::npos;
    if (match) return line.substr(second + 1);
  }
  return std::nullopt;
}

std::optional<int64_t> memory_this_process_can_get() {
  const auto text = read_text("/proc/meminfo");
  const auto machine = text ? parse_meminfo_available(*text) : std::nullopt;
  const auto group = cgroup_room();
  if (machine && group) return std::min(*machine, *group);
  return machine ? machine : group;
}

}  // namespace aaren::base
