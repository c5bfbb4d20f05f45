// How the C library's allocator serves a long training run.
#pragma once

namespace aaren::base {

// Keep the memory freed between updates for the next update (glibc's
// mallopt(3)): blocks below 32 MiB (glibc's largest mmap threshold on 64-bit)
// come from the heap, which is trimmed only past 1 GiB free and grows with
// 256 MiB of padding. A training update frees and allocates the same tensors
// again and again; glibc's defaults return much of that memory to the kernel
// (mmap'd blocks freed, the heap trimmed), whose pages are faulted in and
// zeroed again on first touch, update after update. This changes where tensors
// live, never what is computed: the same bits (docs/BENCHMARKS.md,
// "The allocator", measures both). Left alone with AAREN_DEFAULT_MALLOC=1, where
// the user set MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_,
// MALLOC_TOP_PAD_ or a glibc.malloc tunable in GLIBC_TUNABLES, and off glibc.
// Returns whether it set them.
bool keep_freed_memory_for_reuse();

}  // namespace aaren::base
