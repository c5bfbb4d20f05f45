// A small SIMT emulator: enough of CUDA's programming model to run the scan
// kernels (agents/scan/cuda/scan_kernels.cu) on the CPU, unchanged, so that their
// indexing, chunking, barriers and shuffles are tested on machines with no
// GPU. Each CUDA thread of a block is a fiber on the calling thread (Block,
// below); blocks run one after another (so `__shared__` can be a static);
// __syncthreads() is a barrier over the block, a shuffle an exchange through
// a per-warp slot array and a warp barrier. Correctness only: it is orders of magnitude
// slower than a GPU, and it cannot catch what needs real concurrency between
// blocks or real warp divergence (these kernels use neither).
//
// Used in place of <cuda_runtime.h> by tests/cuda/test_scan_kernels_emulated.cpp
// (this folder shadows the CUDA headers there).
#pragma once

#include <math.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <new>
#include <vector>

#include <boost/context/fiber.hpp>

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

inline dim3 threadIdx, blockIdx, blockDim, gridDim;  // the running fiber's (set as it resumes)

enum cudaError_t { cudaSuccess = 0, cudaErrorInvalidValue = 1 };
using cudaStream_t = void*;
enum cudaMemcpyKind { cudaMemcpyHostToHost, cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice };
struct cudaDeviceProp {
  char name[256];
};

inline const char* cudaGetErrorString(cudaError_t e) { return e == cudaSuccess ? "no error" : "invalid value"; }
inline cudaError_t cudaGetDeviceCount(int* n) { return *n = 1, cudaSuccess; }
inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int) {
  std::strcpy(p->name, "SIMT emulator (fibers on a CPU thread)");
  return cudaSuccess;
}
// Allocations start 0, 8, 16 or 24 bytes past a 64-byte boundary, in turn
// (a GPU's start at 256): so the kernels meet pointers that do and do not
// allow vector access, and a test that runs twice meets them differently.
namespace aaren_simt {
constexpr size_t kFiberStackBytes = 256 * 1024;
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

// The block being run: one fiber (Boost.Context) per CUDA thread, all on the
// calling thread, switched only where a thread waits at a barrier. A waiting
// fiber goes back to the scheduler, which resumes the fibers in turn, each
// once its barrier has completed. A switch in user space costs far less than
// waking hundreds of OS threads through a condition variable at every
// barrier (the test took 43 s, mostly system time, on 2 cores), or than
// ucontext's swapcontext (a system call per switch).
// The order alternates between blocks (0..n-1, then n-1..0), so a read of
// shared memory that a missing barrier leaves unordered meets the writer
// both before and after it; a pass in which no barrier completes and no
// thread ends is a deadlock (say, some threads returned before a
// __syncthreads the others wait at): reported, not hung. Every __syncthreads
// is the one block barrier, so two call sites are not told apart.
class Block {
 public:
  Block(int threads, dim3 block_index, dim3 block_dim, dim3 grid_dim);
  void run(const std::function<void()>& kernel);             // every thread to its end
  void wait_for(const uint64_t* generation, uint64_t from);  // the current thread waits for a change
  void progressed() { progress_ = true; }                    // a barrier completed
  int& exchange_parity() { return fibers_[current_].exchange_parity; }
  struct Warp;
  Warp& warp(int w) { return *warps_[w]; }
  struct Barrier;
  Barrier& barrier() { return *barrier_; }

 private:
  struct Fiber {
    boost::context::fiber self;       // the thread, where it last stopped (empty once it has ended)
    boost::context::fiber scheduler;  // inside the thread: where a wait goes back to
    int exchange_parity = 0;          // which of its warp's slot arrays this lane's next exchange uses
    bool finished = false;
    const uint64_t* waits_on = nullptr;  // a barrier's generation, and the value it waits to see change
    uint64_t waits_from = 0;
  };
  void start(int i);
  bool ready(int i) const {
    return !fibers_[i].finished && !(fibers_[i].waits_on && *fibers_[i].waits_on == fibers_[i].waits_from);
  }
  void resume(int i);
  std::vector<Fiber> fibers_;
  std::vector<std::unique_ptr<Warp>> warps_;
  std::unique_ptr<Barrier> barrier_;
  const std::function<void()>* kernel_ = nullptr;
  dim3 block_index_, block_dim_, grid_dim_;
  int current_ = -1;
  bool progress_ = false;
};

inline Block* current_block = nullptr;

// A reusable barrier for n threads of the current block.
struct Block::Barrier {
  explicit Barrier(int n) : n_(n) {}
  void wait() {
    const uint64_t gen = generation_;
    if (++count_ == n_) {
      count_ = 0, ++generation_;
      current_block->progressed();
      return;
    }
    current_block->wait_for(&generation_, gen);
  }

 private:
  int n_, count_ = 0;
  uint64_t generation_ = 0;
};

// Two slot arrays used in turn: a lane writes one, waits for the warp, reads
// it; its next exchange writes the other, and it cannot come back to this one
// before every lane has passed the barrier of that next exchange, so after
// its read here. One barrier per exchange instead of two.
struct Block::Warp {
  double slot[2][32];
  Barrier barrier{32};
};

// The fibers' stacks, kept between blocks and launches (256 KiB each: the
// kernels' per-thread arrays take a few KiB), each above a page no access may
// touch, so an overflow faults instead of writing into the next thread's
// stack: Boost.Context's stack allocator interface over a pool, thread i's
// stack always the same (mapped once, for the life of the test).
struct PooledStack {
  int thread;
  boost::context::stack_context allocate() {
    static std::vector<char*> stacks;
    static const size_t guard = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    while (static_cast<int>(stacks.size()) <= thread) {
      void* p = mmap(nullptr, guard + kFiberStackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED || mprotect(p, guard, PROT_NONE) != 0) throw std::bad_alloc();
      stacks.push_back(static_cast<char*>(p) + guard);
    }
    boost::context::stack_context stack;
    stack.size = kFiberStackBytes;
    stack.sp = stacks[thread] + kFiberStackBytes;  // the top: the stack grows down
    return stack;
  }
  void deallocate(boost::context::stack_context&) noexcept {}
};

inline Block::Block(int threads, dim3 block_index, dim3 block_dim, dim3 grid_dim)
    : fibers_(threads),
      barrier_(std::make_unique<Barrier>(threads)),
      block_index_(block_index),
      block_dim_(block_dim),
      grid_dim_(grid_dim) {
  for (int w = 0; w < threads / 32; ++w) warps_.push_back(std::make_unique<Warp>());
}

inline void Block::resume(int i) {
  current_ = i;
  threadIdx = dim3(static_cast<unsigned>(i)), blockIdx = block_index_, blockDim = block_dim_, gridDim = grid_dim_;
  fibers_[i].self = std::move(fibers_[i].self).resume();
  if (fibers_[i].finished) progress_ = true;
}

// The scheduler resumes this fiber only once *generation has changed: two
// switches per thread per barrier, none spent polling.
inline void Block::wait_for(const uint64_t* generation, uint64_t from) {
  Fiber& self = fibers_[current_];
  self.waits_on = generation, self.waits_from = from;
  self.scheduler = std::move(self.scheduler).resume();
  self.waits_on = nullptr;
}

inline void Block::start(int i) {
  fibers_[i].self = boost::context::fiber(std::allocator_arg, PooledStack{i}, [this, i](boost::context::fiber&& back) {
    fibers_[i].scheduler = std::move(back);
    (*kernel_)();
    fibers_[i].finished = true;
    return std::move(fibers_[i].scheduler);
  });
}

inline void Block::run(const std::function<void()>& kernel) {
  static unsigned blocks_run = 0;
  const bool reversed = blocks_run++ % 2 == 1;
  const int n = static_cast<int>(fibers_.size());
  kernel_ = &kernel, current_block = this;
  for (int i = 0; i < n; ++i) start(i);
  for (int left = n; left > 0;) {
    progress_ = false;
    for (int k = 0; k < n; ++k) {
      const int i = reversed ? n - 1 - k : k;
      if (!ready(i)) continue;
      resume(i);
      left -= fibers_[i].finished;
    }
    if (!progress_ && left > 0) {
      std::fprintf(stderr, "SIMT emulator: deadlock: %d threads wait at barriers that never complete\n", left);
      std::abort();
    }
  }
  current_block = nullptr;
}

// Every lane publishes v; each reads lane `src` (its own value if src is out of range).
template <typename T>
T exchange(T v, int src) {
  Block::Warp& w = current_block->warp(threadIdx.x / 32);
  const int lane = threadIdx.x % 32;
  int& parity = current_block->exchange_parity();
  double* slot = w.slot[parity];
  parity ^= 1;
  slot[lane] = static_cast<double>(v);
  w.barrier.wait();
  return (src >= 0 && src < 32) ? static_cast<T>(slot[src]) : v;
}

// Blocks run one after another (so `__shared__` can be a static).
inline void launch(dim3 grid, dim3 block, const std::function<void()>& kernel) {
  const int threads = static_cast<int>(block.x);  // 1-D blocks, whole warps (as the scan kernels launch)
  for (unsigned by = 0; by < grid.y; ++by)
    for (unsigned bx = 0; bx < grid.x; ++bx) Block(threads, dim3(bx, by), block, grid).run(kernel);
}

}  // namespace aaren_simt

inline void __syncthreads() { aaren_simt::current_block->barrier().wait(); }
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
