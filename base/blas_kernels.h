// OpenBLAS, the BLAS Debian's LibTorch runs its fp32 matrix products on,
// picks its kernels from the CPU's model number when it loads. Virtual
// machines that report a generic model ("Intel(R) Xeon(R) Processor") get
// its oldest kernels, Prescott's (SSE3), whatever the CPU can do: on this
// project's AVX-512 machines an fp32 product then runs at 19.5 GFLOP/s
// instead of 110 (docs/BENCHMARKS.md), and a DT update 3x slower.
#pragma once

#include <string>

namespace aaren::base {

// When the BLAS is OpenBLAS, OPENBLAS_CORETYPE is unset and OpenBLAS chose
// kernels older than the CPU's own instructions allow (AVX-512: SkylakeX;
// AVX2 and FMA: Haswell), re-initialises OpenBLAS with the right ones. Call
// first thing in main, before any matrix product. No LibTorch here: OpenBLAS
// is found at run time (dlsym), and nothing happens without it.
void prefer_native_blas_kernels();

// OpenBLAS's kernel set ("SkylakeX", "Prescott", ...), or "" when the BLAS
// is not OpenBLAS.
std::string blas_kernels();

// How OpenBLAS runs its threads: "openmp" (libgomp starts them at the first
// parallel region), "pthreads" (its own pool, started when the library loads),
// "sequential", or "" when the BLAS is not OpenBLAS.
std::string blas_threading();

// AAREN_REPRODUCIBLE=1: portable numbers. The last bits of a float product or
// sum depend on the kernels that compute it (vector width, FMA, blocking), and
// OpenBLAS, ATen and oneDNN each pick theirs from the CPU. This pins the set
// that every x86-64 CPU with AVX2 and FMA (Intel since 2013, AMD since 2015)
// runs alike, with or without AVX-512: OpenBLAS's Haswell kernels
// (OPENBLAS_CORETYPE), ATen's AVX2 kernels (ATEN_CPU_CAPABILITY) and oneDNN
// capped at AVX2 (ONEDNN_MAX_CPU_ISA), so the same run with the same seed and
// --threads gives the same bits there. Call first thing in main, before
// prefer_native_blas_kernels. Returns "" or, when the mode cannot hold (no
// AVX2/FMA, or a conflicting OPENBLAS_CORETYPE), one line saying why.
std::string apply_reproducible_mode();
bool reproducible_mode();  // AAREN_REPRODUCIBLE=1

}  // namespace aaren::base
