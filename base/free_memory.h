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

// Room left under one cgroup's memory limit: `limit` (cgroup v2's memory.max,
// or v1's memory.limit_in_bytes) less `usage` (memory.current or
// memory.usage_in_bytes), both as the files hold them, plus the page cache
// the kernel reclaims before it kills: the inactive file pages of `stat`
// (memory.stat: v1's hierarchical "total_inactive_file", else
// "inactive_file", as v2 writes it), since usage counts the page cache and a
// group that has read much sits near its limit. nullopt where there is no
// limit ("max", or v1's 2^63 - 1 rounded down to a page: any limit from 2^62
// up) or limit or usage is not a number.
std::optional<int64_t> parse_cgroup_room(const std::string& limit, const std::string& usage,
                                         const std::string& stat = "");

// This process's memory cgroup from /proc/self/cgroup's text: the path after
// "0::" (cgroup v2) or after the v1 line whose controllers include "memory";
// nullopt where there is none.
std::optional<std::string> memory_cgroup_path(const std::string& proc_self_cgroup, bool v2);

// The least of the machine's available memory and the room under this
// process's memory cgroup and each group above it, in bytes; nullopt where
// none can be read (not Linux). A caller refuses a request above it and goes
// ahead where it is unknown.
std::optional<int64_t> memory_this_process_can_get();

}  // namespace aaren::base
