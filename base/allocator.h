// How the C library's allocator serves a long training run.
#pragma once

#include <string>
#include <vector>

namespace aaren::base {

// Keep the memory freed between updates for the next update (glibc's
// mallopt(3)): blocks below 32 MiB (glibc's largest mmap threshold on 64-bit)
// come from the heap, which is trimmed only past 1 GiB free and grows with
// 256 MiB of padding. A training update frees and allocates the same tensors
// again and again; glibc's defaults return much of that memory to the kernel
// (mmap'd blocks freed, the heap trimmed), whose pages are faulted in and
// zeroed again on first touch, update after update. This changes where tensors
// live, never what is computed (docs/BENCHMARKS.md, "The allocator").
// Each of the three is set unless the user chose it (MALLOC_MMAP_THRESHOLD_,
// MALLOC_TRIM_THRESHOLD_, MALLOC_TOP_PAD_ or its glibc.malloc tunable in
// GLIBC_TUNABLES): the user's value stays, and the others are still set, since
// setting any one of them by hand stops glibc raising its mmap threshold (128
// KiB unless it is the one set: the slow case, mallopt(3)). None is set with AAREN_DEFAULT_MALLOC=1, or off glibc.
// Returns the variables' names of those it set. Call it before other threads start (mallopt(3) is MT-Unsafe).
std::vector<std::string> keep_freed_memory_for_reuse();

// The allocator setting this process runs under, for a run's provenance: "kept
// for reuse" (all three set above), "glibc's defaults" (none set, none the
// user's), or which were set and the user's own variables as given.
std::string allocator_setting();

}  // namespace aaren::base
