// Subnormal floats (fp32 magnitudes below 1.18e-38; fp64 below 2.2e-308) and
// this process's floating-point environment. Many x86 CPUs compute an
// operation with a subnormal input or result through a microcode assist, tens
// to hundreds of cycles instead of one (Intel 64 and IA-32 Architectures
// Optimization Reference Manual, "Floating-point modes and exceptions":
// denormals). Trained attention makes them: exp(s - max) of a sharp softmax
// underflows into that range, and so do the gradients through it. On the Intel
// Xeon of stops 59-61 an Aaren update late in training took 0.718 s with them
// and 0.194 s without, in AAREN_REPRODUCIBLE=1's pinned kernels
// (docs/BENCHMARKS.md, "Subnormal numbers"); AMD's Zen cores pay far less.
//
// Flush-to-zero (FTZ: a subnormal result becomes 0) and denormals-are-zero
// (DAZ: a subnormal input reads as 0), the MXCSR bits TensorFlow and XLA set
// for their CPU work too; they cover SSE/AVX arithmetic in float and double
// (MuJoCo's physics included), not the x87 unit. A subnormal is at most
// 2^-126, at most an ulp of a float of magnitude 2^-103, so a sum with a
// larger normal term rarely changes; products of subnormals with large
// numbers do, and so a run's numbers differ from IEEE's after a while.
//
// The threads that compute must inherit the setting: libgomp (LibTorch's and
// the OpenMP build of OpenBLAS that scripts/setup.sh installs) starts its
// threads at the first parallel region, from a thread that has it. OpenBLAS's
// pthread build starts its workers when it loads, before main; they would keep
// IEEE subnormals (bench::machine_info records which OpenBLAS runs).
#pragma once

namespace aaren::base {

// Sets FTZ and DAZ for the calling thread, unless AAREN_KEEP_SUBNORMALS=1 asks
// to keep IEEE gradual underflow (to replay a run made before stop 61 bit for
// bit). Threads created afterwards inherit the setting (pthread_create(3)):
// call first thing in main, before LibTorch starts its threads. No effect off
// x86-64. Returns whether subnormals are flushed now.
bool flush_subnormals_unless_kept();

// Whether the calling thread flushes subnormals (FTZ and DAZ both set).
bool subnormals_flushed();

}  // namespace aaren::base
