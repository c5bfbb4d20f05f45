// A small SIMT emulator: enough of CUDA's programming model to run the scan
// kernels (agents/scan/cuda/scan_kernels.cu) on the CPU, unchanged, so that their
// indexing, chunking, barriers and shuffles are tested on machines with no
// GPU. Each CUDA thread of a block is a std::thread (kept in a pool between
// blocks); blocks run one after another (so `__shared__` can be a static); __syncthreads() is a barrier
// over the block, a shuffle an exchange through a per-warp slot array
// and a warp barrier. Correctness only: it is orders of magnitude
// slower than a GPU, and it cannot catch what needs real concurrency between
// blocks or real warp divergence (these kernels use neither).
//
// Used in place of <cuda_runtime.h> by tests/cuda/test_scan_kernels_emulated.cpp
// (this folder shadows the CUDA headers there).
#pragma once

#include <math.h>

#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#define AAREN_SIMT_EMULATOR 1
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
using uint3 = dim3;

inline thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;

enum cudaError_t { cudaSuccess = 0, cudaErrorInvalidValue = 1 };
using cudaStream_t = void*;
enum cudaMemcpyKind { cudaMemcpyHostToHost, cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice };
struct cudaDeviceProp {
  char name[256];
};

inline const char* cudaGetErrorString(cudaError_t e) { return e == cudaSuccess ? "no error" : "invalid value"; }
inline cudaError_t cudaGetDeviceCount(int* n) { return *n = 1, cudaSuccess; }
inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int) {
  std::strcpy(p->name, "SIMT emulator (CPU threads)");
  return cudaSuccess;
}
// Allocations start 0, 8, 16 or 24 bytes past a 64-byte boundary, in turn
// (a GPU's start at 256): so the kernels meet pointers that do and do not
// allow vector access, and a test that runs twice meets them differently.
namespace aaren_simt {
inline std::map<void*, void*>& allocations() {
  static std::map<void*, void*> bases;  // what cudaMalloc returned -> what to free
  return bases;
}
}  // namespace aaren_simt
template <typename T>
cudaError_t cudaMalloc(T** p, size_t bytes) {
  static unsigned count = 0;
  const size_t offset = 8 * (count++ % 4);
  char* base = static_cast<char*>(::operator new(bytes + offset, std::align_val_t(64)));
  *p = reinterpret_cast<T*>(base + offset);
  aaren_simt::allocations()[*p] = base;
  return cudaSuccess;
}
inline cudaError_t cudaFree(void* p) {
  auto& bases = aaren_simt::allocations();
  const auto it = bases.find(p);
  if (it == bases.end()) return cudaErrorInvalidValue;
  ::operator delete(it->second, std::align_val_t(64));
  bases.erase(it);
  return cudaSuccess;
}
inline cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind) {
  return std::memcpy(dst, src, bytes), cudaSuccess;
}
inline cudaError_t cudaMemset(void* dst, int value, size_t bytes) {
  return std::memset(dst, value, bytes), cudaSuccess;
}
inline cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }  // launches run to completion
inline cudaError_t cudaGetLastError() { return cudaSuccess; }

inline float __int_as_float(unsigned bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}
inline double __longlong_as_double(unsigned long long bits) {
  double d;
  std::memcpy(&d, &bits, sizeof d);
  return d;
}

namespace aaren_simt {

// A reusable barrier for n threads (blocking: the emulated threads outnumber the cores).
class Barrier {
 public:
  explicit Barrier(int n) : n_(n) {}
  void wait() {
    std::unique_lock<std::mutex> lock(m_);
    const uint64_t gen = generation_;
    if (++count_ == n_) {
      count_ = 0, ++generation_;
      cv_.notify_all();
    } else {
      cv_.wait(lock, [&] { return generation_ != gen; });
    }
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  int n_, count_ = 0;
  uint64_t generation_ = 0;
};

// Two slot arrays used in turn: a lane writes one, waits for the warp, reads
// it; its next exchange writes the other, and it cannot come back to this one
// before every lane has passed the barrier of that next exchange, so after
// its read here. One barrier per exchange instead of two.
struct Warp {
  double slot[2][32];
  Barrier barrier{32};
};

struct Block {
  Barrier barrier;
  std::vector<std::unique_ptr<Warp>> warps;
  explicit Block(int threads) : barrier(threads) {
    for (int w = 0; w < threads / 32; ++w) warps.push_back(std::make_unique<Warp>());
  }
};

inline thread_local Block* current_block = nullptr;
inline thread_local int exchange_parity = 0;  // which of its warp's slot arrays this lane's next exchange uses

// Every lane publishes v; each reads lane `src` (its own value if src is out of range).
template <typename T>
T exchange(T v, int src) {
  Warp& w = *current_block->warps[threadIdx.x / 32];
  const int lane = threadIdx.x % 32;
  double* slot = w.slot[exchange_parity];
  exchange_parity ^= 1;
  slot[lane] = static_cast<double>(v);
  w.barrier.wait();
  return (src >= 0 && src < 32) ? static_cast<T>(slot[src]) : v;
}

// The CUDA threads of a block: worker threads kept between blocks and
// launches (starting a thread per CUDA thread per block cost most of the
// emulated test's time). run(n, job) runs job(0..n-1) on n workers and returns
// when all have finished.
class ThreadPool {
 public:
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(m_);
      stopping_ = true, ++generation_;
    }
    start_.notify_all();
    for (auto& w : workers_) w.join();
  }
  void run(int n, const std::function<void(int)>& job) {
    while (static_cast<int>(workers_.size()) < n) {
      const int index = static_cast<int>(workers_.size());
      workers_.emplace_back([this, index] { work(index); });
    }
    std::unique_lock<std::mutex> lock(m_);
    job_ = &job, active_ = n, remaining_ = n, ++generation_;
    start_.notify_all();
    done_.wait(lock, [&] { return remaining_ == 0; });
  }

 private:
  void work(int index) {
    uint64_t seen = 0;
    for (;;) {
      std::unique_lock<std::mutex> lock(m_);
      start_.wait(lock, [&] { return generation_ != seen; });
      seen = generation_;
      if (stopping_) return;
      if (index >= active_) continue;
      const auto* job = job_;
      lock.unlock();
      (*job)(index);
      lock.lock();
      if (--remaining_ == 0) done_.notify_one();
    }
  }
  std::vector<std::thread> workers_;
  std::mutex m_;
  std::condition_variable start_, done_;
  const std::function<void(int)>* job_ = nullptr;
  int active_ = 0, remaining_ = 0;
  uint64_t generation_ = 0;
  bool stopping_ = false;
};

inline void launch(dim3 grid, dim3 block, const std::function<void()>& kernel) {
  static ThreadPool pool;
  const int threads = static_cast<int>(block.x);  // 1-D blocks, whole warps (as the scan kernels launch)
  for (unsigned by = 0; by < grid.y; ++by)
    for (unsigned bx = 0; bx < grid.x; ++bx) {
      Block shared_block(threads);
      pool.run(threads, [&](int t) {
        threadIdx = dim3(t), blockIdx = dim3(bx, by), blockDim = block, gridDim = grid;
        current_block = &shared_block, exchange_parity = 0;
        kernel();
      });
    }
}

}  // namespace aaren_simt

inline void __syncthreads() { aaren_simt::current_block->barrier.wait(); }
template <typename T>
T __shfl_sync(unsigned, T v, int src) {
  return aaren_simt::exchange(v, src);
}
template <typename T>
T __shfl_up_sync(unsigned, T v, unsigned delta) {
  return aaren_simt::exchange(v, static_cast<int>(threadIdx.x % 32) - static_cast<int>(delta));
}
template <typename T>
T __shfl_down_sync(unsigned, T v, unsigned delta) {
  return aaren_simt::exchange(v, static_cast<int>(threadIdx.x % 32 + delta));
}
template <typename T>
T __shfl_xor_sync(unsigned, T v, int mask) {
  return aaren_simt::exchange(v, static_cast<int>(threadIdx.x % 32) ^ mask);
}
