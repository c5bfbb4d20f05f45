// How much memory this process could still be given: what a reader checks a
// file's declared sizes against before it allocates them. Why it is needed:
// with Linux's default overcommit (vm.overcommit_memory = 0) an allocation
// larger than the free memory succeeds, and the process is killed by the
// OOM killer only when the pages are touched (proc(5), "overcommit_memory"),
// with no message naming the file that asked for them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace aaren::base {

// MemAvailable + SwapFree from /proc/meminfo's text, in bytes (the kernel's
// estimate of what can be allocated without swapping, plus the swap left:
// proc(5)). nullopt where either line is missing or not "<n> kB".
std::optional<int64_t> parse_meminfo_available(const std::string& text);

// Room left under a cgroup's memory limit: `limit` (cgroup v2's memory.max,
// or v1's memory.limit_in_bytes) minus `usage` (memory.current or
// memory.usage_in_bytes), both as the files hold them. nullopt where there is
// no limit ("max", or v1's 2^63 - 1 rounded down to a page: any limit from
// 2^62 up) or either is not a number.
std::optional<int64_t> parse_cgroup_room(const std::string& limit, const std::string& usage);

// The least of the machine's available memory and this cgroup's room, in
// bytes; nullopt where neither can be read (not Linux). A caller refuses a
// request above it and goes ahead where it is unknown.
std::optional<int64_t> memory_this_process_can_get();

}  // namespace aaren::base
