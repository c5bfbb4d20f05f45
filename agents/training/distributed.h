// Data-parallel training on PyTorch's distributed engine, c10d: one process
// per rank, a rendezvous store hosted by rank 0 (c10d::TCPStore), and a process
// group (Gloo on the CPU, NCCL on CUDA) that sums tensors across ranks.
//
// Ranks are launched as torchrun launches them: RANK, WORLD_SIZE, LOCAL_RANK,
// MASTER_ADDR and MASTER_PORT in the environment, so torchrun, Slurm's srun
// (with those variables set from SLURM_PROCID, ...) and a hand launch on
// several machines all work; `launch_local_ranks` starts N ranks on this
// machine the same way. The c10d headers stay in distributed.cpp.
#pragma once

#include <torch/types.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace aaren::dist {

// Whether this build has c10d with Gloo (Debian: libgloo-dev at build time).
bool available();

// A collective failed or timed out, a peer died, the rendezvous failed: one
// line, naming the rank, what it waited for and the likely cause.
struct DistributedError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct LaunchInfo {
  int rank = 0, world_size = 1, local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
};

// From torchrun's variables; a single process (world 1) when WORLD_SIZE is
// unset. Throws std::invalid_argument naming a malformed variable.
LaunchInfo launch_from_environment();

// Whether this process was started as one rank of a group (WORLD_SIZE set, by
// torchrun, Slurm's wrapper or `--nproc`), and its rank as RANK gives it, for
// messages ("" for a single process or a world of 1). Read as given, so that
// a malformed variable is reported by launch_from_environment, not here.
bool started_as_rank();
std::string rank_label();

// Where a rank computes: the --device value as given, except that a bare
// "cuda" means this rank's own GPU (LOCAL_RANK), as torchrun's ranks expect.
// Throws std::invalid_argument naming --device for a bad value.
torch::Device rank_device(const LaunchInfo& launch, const std::string& device);
// c10d's backend for a rank's device: NCCL on CUDA, Gloo on the CPU.
std::string collective_backend(const torch::Device& device);

class ProcessGroup {
 public:
  // Joins the group: rank 0 hosts the store at master_addr:master_port, every
  // rank connects to it. "gloo" or "nccl" ("nccl" needs a CUDA LibTorch and
  // CUDA tensors). `timeout` bounds the rendezvous and every collective.
  ProcessGroup(const LaunchInfo& launch, const std::string& backend, std::chrono::milliseconds timeout);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const;
  int world_size() const;
  void all_reduce_sum(torch::Tensor& tensor);                          // in place, on every rank
  void broadcast(torch::Tensor& tensor, int root);                     // in place
  std::vector<torch::Tensor> all_gather(const torch::Tensor& tensor);  // same shape on every rank
  void barrier();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One all-reduce per update over a flat buffer of every gradient, with each
// rank's gradient weighted by its share of the global normaliser, so W ranks
// of batch B/W compute exactly the gradient (and loss) of one rank of batch B:
// a rank whose loss is sse_r / n_r (n_r: its real steps) contributes
// grad_r * n_r and n_r, and the sum is divided by N = sum n_r.
class GradientAllReduce {
 public:
  explicit GradientAllReduce(ProcessGroup& group) : group_(group) {}
  struct Totals {
    double loss = 0;      // the global batch's loss
    int64_t steps = 0;    // its real steps
    int stop_signal = 0;  // the signal some rank was asked to stop by (SIGINT before SIGTERM), or 0
  };
  // `params`: the model's parameters (grads filled by backward on each rank).
  // `stop_signal` (the signal this rank was asked to stop by, or 0) rides in
  // the same buffer, so every rank learns in the same update that one of them
  // was asked to stop, and by which signal: a forwarded Ctrl-C reaches the
  // ranks at different times, and each must then end as Ctrl-C ends a run.
  Totals reduce(const std::vector<torch::Tensor>& params, double local_loss, int64_t local_steps, int stop_signal = 0);

 private:
  ProcessGroup& group_;
  torch::Tensor flat_;
};

// Starts `nproc` ranks of this program on this machine (the same arguments,
// RANK/WORLD_SIZE/LOCAL_RANK/MASTER_ADDR/MASTER_PORT set, a free port unless
// MASTER_PORT is set) and waits for them. When one fails, the others are
// given `grace` to end on their own (their collectives fail at once when a
// peer's connection closes), then killed. Returns the first failing rank's
// exit status, or 0.
// `args`: the program's arguments after its path (e.g. {"train", "--dataset", ...}).
int launch_local_ranks(int nproc, const std::vector<std::string>& args, std::chrono::milliseconds grace);

}  // namespace aaren::dist
