#include "agents/training/distributed.h"

#include "base/child_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <thread>

#include "agents/models/device.h"

#ifdef AAREN_HAVE_C10D
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#endif

extern char** environ;

namespace aaren::dist {

bool available() {
#ifdef AAREN_HAVE_C10D
  return true;
#else
  return false;
#endif
}

namespace {

int env_int(const char* name, int fallback, int min_value) {
  const char* text = std::getenv(name);
  if (!text || !*text) return fallback;
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(text, &end, 10);
  if (errno || *end || value < min_value || value > 1 << 20)
    throw std::invalid_argument(std::string(name) + "=" + text +
                                ": expected an integer >= " + std::to_string(min_value));
  return static_cast<int>(value);
}

// The first line of a c10d/Gloo message, without LibTorch's C++ backtrace.
std::string first_line(const std::exception& e) {
  std::string text = e.what();
#ifdef AAREN_HAVE_C10D
  if (const auto* c10 = dynamic_cast<const c10::Error*>(&e)) text = c10->what_without_backtrace();
#endif
  const auto eol = text.find('\n');
  return eol == std::string::npos ? text : text.substr(0, eol);
}

#ifdef AAREN_HAVE_C10D
// The store's or the group's set-up failed: what, where, and the likely cause.
std::string rendezvous_failure(const LaunchInfo& launch, std::chrono::milliseconds timeout, const std::string& why) {
  std::string hint = "is rank 0 running, and MASTER_ADDR/MASTER_PORT the same on every rank?";
  if (launch.rank == 0) hint = "did every rank start? (WORLD_SIZE=" + std::to_string(launch.world_size) + ")";
  if (why.find("ddress already in use") != std::string::npos) hint = "the port is in use: set another MASTER_PORT";
  // A peer that joined and then quit (it refused its input after the store
  // opened) closes its connections while the others are still meeting it:
  // Gloo says so, and every rank did start.
  if (why.find("closed by peer") != std::string::npos || why.find("reset by peer") != std::string::npos)
    hint = "another rank died or quit during the rendezvous; see its output";
  std::ostringstream text;
  text << "rank " << launch.rank << ": rendezvous at " << launch.master_addr << ":" << launch.master_port
       << " failed (timeout " << timeout.count() / 1000.0 << " s): " << why << " (" << hint << ")";
  return text.str();
}
#endif

}  // namespace

LaunchInfo launch_from_environment() {
  LaunchInfo l;
  l.world_size = env_int("WORLD_SIZE", 1, 1);
  l.rank = env_int("RANK", 0, 0);
  l.local_rank = env_int("LOCAL_RANK", l.rank, 0);
  if (l.rank >= l.world_size)
    throw std::invalid_argument("RANK=" + std::to_string(l.rank) +
                                " is not below WORLD_SIZE=" + std::to_string(l.world_size));
  if (const char* addr = std::getenv("MASTER_ADDR"); addr && *addr) l.master_addr = addr;
  l.master_port = env_int("MASTER_PORT", l.master_port, 1);
  if (l.master_port > 65535) throw std::invalid_argument("MASTER_PORT must be a port number (1..65535)");
  return l;
}

bool started_as_rank() {
  const char* world = std::getenv("WORLD_SIZE");
  return world && *world;
}

std::string rank_label() {
  const char* world = std::getenv("WORLD_SIZE");
  const char* rank = std::getenv("RANK");
  return rank && *rank && started_as_rank() && std::string(world) != "1" ? rank : "";
}

torch::Device rank_device(const LaunchInfo& launch, const std::string& device) {
  const auto parsed = parse_device("--device", device);
  return parsed.is_cuda() && device == "cuda" ? torch::Device(torch::kCUDA, launch.local_rank) : parsed;
}

std::string collective_backend(const torch::Device& device) { return device.is_cuda() ? "nccl" : "gloo"; }

#ifdef AAREN_HAVE_C10D

struct ProcessGroup::Impl {
  LaunchInfo launch;
  std::chrono::milliseconds timeout{};
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
#ifdef USE_C10D_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif

  // Runs one collective to completion; a failure (a peer's connection
  // closed, the timeout) becomes one line naming this rank and the collective.
  template <class Op>
  void run(const char* what, const Op& op) {
    try {
#ifdef USE_C10D_NCCL
      if (nccl) return op(*nccl);
#endif
      op(*gloo);
    } catch (const std::exception& e) {
      throw DistributedError("rank " + std::to_string(launch.rank) + ": " + what + " across " +
                             std::to_string(launch.world_size) + " ranks failed: " + first_line(e) +
                             " (another rank died or stopped answering; see its output)");
    }
  }
};

ProcessGroup::ProcessGroup(const LaunchInfo& launch, const std::string& backend, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  auto& s = *impl_;
  s.launch = launch;
  s.timeout = timeout;
  try {
    c10d::TCPStoreOptions options;
    options.port = static_cast<uint16_t>(launch.master_port);
    options.isServer = launch.rank == 0;
    options.numWorkers = static_cast<size_t>(launch.world_size);
    options.waitWorkers = true;  // rank 0 returns once every rank has connected, or throws at the timeout
    options.timeout = timeout;
    s.store = c10::make_intrusive<c10d::TCPStore>(launch.master_addr, options);
  } catch (const std::exception& e) {
    throw DistributedError(rendezvous_failure(launch, timeout, first_line(e)));
  }
  try {
    if (backend == "gloo") {
      auto options = c10d::ProcessGroupGloo::Options::create(timeout);
      // On one machine, the loopback interface (a sandbox may have no other);
      // across machines, GLOO_SOCKET_IFNAME or the interface of this host's name.
      const bool local = launch.master_addr == "127.0.0.1" || launch.master_addr == "localhost";
      if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
      else if (local)
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      else
        options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      s.gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(s.store, launch.rank, launch.world_size, options);
    } else if (backend == "nccl") {
#ifdef USE_C10D_NCCL
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = timeout;
      s.nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(s.store, launch.rank, launch.world_size, options);
#else
      throw std::invalid_argument("this LibTorch has no NCCL (a CUDA LibTorch has it)");
#endif
    } else {
      throw std::invalid_argument("backend must be gloo or nccl, got '" + backend + "'");
    }
  } catch (const std::invalid_argument&) {
    throw;
  } catch (const std::exception& e) {
    throw DistributedError(rendezvous_failure(launch, timeout, first_line(e)));
  }
}

ProcessGroup::~ProcessGroup() = default;

int ProcessGroup::rank() const { return impl_->launch.rank; }
int ProcessGroup::world_size() const { return impl_->launch.world_size; }

void ProcessGroup::all_reduce_sum(torch::Tensor& tensor) {
  impl_->run("all-reduce", [&](auto& pg) {
    std::vector<at::Tensor> tensors{tensor};
    pg.allreduce(tensors)->wait();
  });
}

void ProcessGroup::broadcast(torch::Tensor& tensor, int root) {
  impl_->run("broadcast", [&](auto& pg) {
    std::vector<at::Tensor> tensors{tensor};
    c10d::BroadcastOptions options;
    options.rootRank = root;
    pg.broadcast(tensors, options)->wait();
  });
}

std::vector<torch::Tensor> ProcessGroup::all_gather(const torch::Tensor& tensor) {
  std::vector<std::vector<at::Tensor>> outputs(1);
  for (int r = 0; r < world_size(); ++r) outputs[0].push_back(torch::empty_like(tensor));
  impl_->run("all-gather", [&](auto& pg) {
    std::vector<at::Tensor> inputs{tensor};
    pg.allgather(outputs, inputs)->wait();
  });
  return outputs[0];
}

void ProcessGroup::barrier() {
  impl_->run("barrier", [&](auto& pg) { pg.barrier()->wait(); });
}

#else  // no c10d in this build

struct ProcessGroup::Impl {};

ProcessGroup::ProcessGroup(const LaunchInfo&, const std::string&, std::chrono::milliseconds) {
  throw std::invalid_argument(
      "this build has no distributed training (c10d with Gloo: install libgloo-dev and rebuild)");
}
ProcessGroup::~ProcessGroup() = default;
int ProcessGroup::rank() const { return 0; }
int ProcessGroup::world_size() const { return 1; }
void ProcessGroup::all_reduce_sum(torch::Tensor&) {}
void ProcessGroup::broadcast(torch::Tensor&, int) {}
std::vector<torch::Tensor> ProcessGroup::all_gather(const torch::Tensor& t) { return {t}; }
void ProcessGroup::barrier() {}

#endif

GradientAllReduce::Totals GradientAllReduce::reduce(const std::vector<torch::Tensor>& params, double local_loss,
                                                    int64_t local_steps, int stop_signal) {
  int64_t total = 0;
  for (const auto& p : params) total += p.numel();
  const auto options = params.empty() ? torch::TensorOptions() : params.front().options();
  // [grad_0 * n_r, ..., grad_k * n_r, loss_r * n_r, n_r, asked_r, interrupted_r], summed over ranks
  // (asked: any stop signal; interrupted: SIGINT).
  // The grads are fp32 (mixed precision keeps fp32 weights); so is the buffer.
  constexpr int64_t kTail = 4;
  if (!flat_.defined() || flat_.numel() != total + kTail || flat_.device() != options.device())
    flat_ = torch::empty({total + kTail}, options.dtype(torch::kFloat));
  torch::NoGradGuard no_grad;
  const double n = static_cast<double>(local_steps);
  int64_t offset = 0;
  for (const auto& p : params) {
    auto slot = flat_.narrow(0, offset, p.numel());
    if (p.grad().defined())
      slot.copy_(p.grad().reshape(-1)).mul_(n);
    else
      slot.zero_();
    offset += p.numel();
  }
  const double asked = stop_signal != 0 ? 1.0 : 0.0, interrupted = stop_signal == SIGINT ? 1.0 : 0.0;
  flat_.narrow(0, total, kTail).copy_(torch::tensor({local_loss * n, n, asked, interrupted}, torch::kDouble));
  group_.all_reduce_sum(flat_);
  const auto sums = flat_.narrow(0, total, kTail).to(torch::kCPU, torch::kDouble);
  Totals out;
  out.steps = static_cast<int64_t>(std::llround(sums[1].item<double>()));
  if (out.steps <= 0) throw DistributedError("all-reduce: the global batch has no real step");
  out.loss = sums[0].item<double>() / static_cast<double>(out.steps);
  if (sums[2].item<double>() > 0.5) out.stop_signal = sums[3].item<double>() > 0.5 ? SIGINT : SIGTERM;
  flat_.narrow(0, 0, total).div_(static_cast<double>(out.steps));
  offset = 0;
  for (const auto& p : params) {
    auto slot = flat_.narrow(0, offset, p.numel()).view(p.sizes());
    if (p.grad().defined())
      p.grad().copy_(slot);
    else
      const_cast<torch::Tensor&>(p).mutable_grad() = slot.clone();
    offset += p.numel();
  }
  return out;
}

// --- local launcher ----------------------------------------------------------

namespace {

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 29500;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;  // the kernel picks a free one
  socklen_t len = sizeof addr;
  int port = 29500;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

std::vector<pid_t>* g_children = nullptr;

// SIGINT/SIGTERM to the launcher reach every rank (each then ends as it would).
void forward_signal(int signal) {
  if (g_children)
    for (pid_t pid : *g_children) ::kill(pid, signal);
}

// This process's environment for rank `rank` of `nproc`: torchrun's variables replaced by ours.
std::vector<std::string> rank_environment(int rank, int nproc, const std::string& addr, const std::string& port) {
  std::vector<std::string> env_text;
  for (char** e = environ; *e; ++e) {
    const std::string entry = *e;
    const auto name = entry.substr(0, entry.find('='));
    if (name != "RANK" && name != "WORLD_SIZE" && name != "LOCAL_RANK" && name != "LOCAL_WORLD_SIZE" &&
        name != "MASTER_ADDR" && name != "MASTER_PORT")
      env_text.push_back(entry);
  }
  for (const auto& [name, value] :
       std::vector<std::pair<std::string, std::string>>{{"RANK", std::to_string(rank)},
                                                        {"LOCAL_RANK", std::to_string(rank)},
                                                        {"WORLD_SIZE", std::to_string(nproc)},
                                                        {"LOCAL_WORLD_SIZE", std::to_string(nproc)},
                                                        {"MASTER_ADDR", addr},
                                                        {"MASTER_PORT", port}})
    env_text.push_back(name + "=" + value);
  return env_text;
}

}  // namespace

int launch_local_ranks(int nproc, const std::vector<std::string>& args, std::chrono::milliseconds grace) {
  std::vector<std::string> words{"aaren"};
  words.insert(words.end(), args.begin(), args.end());
  const char* port_env = std::getenv("MASTER_PORT");
  const std::string port = port_env && *port_env ? port_env : std::to_string(free_port());
  const char* addr_env = std::getenv("MASTER_ADDR");
  const std::string addr = addr_env && *addr_env ? addr_env : "127.0.0.1";
  std::vector<pid_t> children;
  g_children = &children;
  struct sigaction action {};
  action.sa_handler = forward_signal;
  sigemptyset(&action.sa_mask);
  struct sigaction old_int {
  }, old_term{};
  sigaction(SIGINT, &action, &old_int);
  sigaction(SIGTERM, &action, &old_term);

  for (int rank = 0; rank < nproc; ++rank) {
    pid_t pid = 0;  // in a process group of its own: it gets our one forwarded Ctrl-C (base/child_process.h)
    const int err = base::spawn_self(pid, words, rank_environment(rank, nproc, addr, port));
    if (err != 0) {
      forward_signal(SIGTERM);
      for (pid_t child : children) ::waitpid(child, nullptr, 0);
      g_children = nullptr;
      throw std::runtime_error(std::string("--nproc: cannot start rank ") + std::to_string(rank) + ": " +
                               std::strerror(err));
    }
    children.push_back(pid);
  }

  int first_failure = 0;
  auto deadline = std::chrono::steady_clock::time_point::max();
  std::vector<bool> running(children.size(), true);
  size_t left = children.size();
  while (left > 0) {
    for (size_t i = 0; i < children.size(); ++i) {
      if (!running[i]) continue;
      int status = 0;
      const pid_t done = ::waitpid(children[i], &status, WNOHANG);
      if (done == 0) continue;
      running[i] = false, --left;
      const int code = done < 0 ? 1 : base::exit_code(status);
      if (code != 0 && first_failure == 0) {
        first_failure = code;
        deadline = std::chrono::steady_clock::now() + grace;
      }
    }
    if (left > 0 && std::chrono::steady_clock::now() > deadline) {
      for (size_t i = 0; i < children.size(); ++i)
        if (running[i]) ::kill(children[i], SIGKILL);
      deadline = std::chrono::steady_clock::time_point::max();
    }
    if (left > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  g_children = nullptr;
  return first_failure;
}

}  // namespace aaren::dist
