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

}  // namespace aaren::base
