// How busy this process's cores are with other work, and the warning a
// command asking for several LibTorch threads prints when it would share
// them. Why it matters: LibTorch's threads are OpenMP's (libgomp), which spin
// at every barrier waiting for the others; when one of them has lost its core
// to another process, the rest wait for the scheduler to give it back, at
// every parallel region of every operation. On a 2-core machine beside one
// busy process, `aaren train --threads 2` ran many times slower than at
// --threads 1 (docs/BENCHMARKS.md, "Threads beside other work"). libgomp reads
// its waiting policy (OMP_WAIT_POLICY, GOMP_SPINCOUNT) from the environment
// once, when the library is loaded (the GNU libgomp manual, "Environment
// Variables"), so a running program cannot change it: it can only say so.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>

namespace aaren::base {

// One CPU's time as /proc/stat counts it (clock ticks since boot): `busy` is
// user + nice + system + irq + softirq + steal (time the CPU was not ours to
// use), `total` adds idle and iowait. guest and guest_nice are already inside
// user and nice (proc(5)), so they are not added again.
struct CpuTicks {
  long long busy = 0, total = 0;
};

// The per-CPU lines of /proc/stat's text ("cpuN user nice system idle iowait
// irq softirq steal ..."), by CPU number; the aggregate "cpu" line and every
// other line are skipped. Throws std::runtime_error on a cpuN line with fewer
// than 8 numbers.
std::map<int, CpuTicks> parse_proc_stat(const std::string& text);

// The CPUs this process may run on (its affinity mask), at least 1.
int usable_cpus();

// How many of this process's usable CPUs were busy over `window` (in core
// equivalents, e.g. 1.0 = one core fully taken), measured while the calling
// thread sleeps, so that what is counted is other work. nullopt where
// /proc/stat cannot be read or parsed (not Linux).
std::optional<double> cores_busy_with_other_work(std::chrono::milliseconds window);

// The one-line warning for `threads` threads when `busy` of `cores` cores are
// taken by other work, or "" when they fit: every thread past the first
// needs a core of its own (threads <= cores - busy, with half a core of slack
// for the measurement's noise). More threads than cores, busy or not, are
// named as such.
std::string shared_cores_warning(int threads, double busy, int cores);

}  // namespace aaren::base
