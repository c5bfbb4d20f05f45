// The CUDA scan kernels, unchanged, on the SIMT emulator (fibers on a CPU thread), run
// by the same test as on a GPU: against the float64 brute force, with
// smaller cases. Catches indexing, chunking, barrier and shuffle mistakes on
// machines without a GPU; says nothing about speed.
#include "tests/cuda/emulator/simt_emulator.h"  // first: CUDA's keywords and runtime calls

#include "agents/scan/cuda/scan_kernels.cu"
#include "tests/cuda/test_scan_kernels.cpp"
