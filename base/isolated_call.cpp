#include "base/isolated_call.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

namespace aaren::base {

namespace {

bool write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n, size -= static_cast<size_t>(n);
  }
  return true;
}

// The child is the one to go when memory runs out (the kernel's OOM killer
// picks the highest oom_score_adj: proc(5)), and its crash writes no core file.
void make_child_expendable() {
  if (FILE* adj = std::fopen("/proc/self/oom_score_adj", "w")) std::fputs("1000", adj), std::fclose(adj);
  const rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
}

[[noreturn]] void run_child(const std::function<void(ChildPipe&)>& call, int fd) {
  for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT}) ::signal(sig, SIG_DFL);
  make_child_expendable();
  const int null = ::open("/dev/null", O_WRONLY);
  if (null >= 0) ::dup2(null, STDERR_FILENO), ::close(null);
  ChildPipe pipe(fd);
  try {
    call(pipe);
  } catch (...) {  // the answer ends where it is: the child never unwinds into its parent's code
  }
  ::close(fd);
  ::_exit(0);
}

// Hands what arrives on fd to `take` until end of file; false if timeout_seconds passed first.
bool read_until_eof(int fd, double timeout_seconds, const std::function<void(const char*, size_t)>& take) {
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + std::chrono::duration<double>(timeout_seconds);
  char buffer[1 << 16];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1000)));
    if (ready <= 0) continue;  // interrupted (EINTR) or nothing yet
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;  // EOF: the child is done (or died)
    take(buffer, static_cast<size_t>(n));
  }
}

// The child's end: its exit status, or kTimedOut once killed for the time.
IsolatedAnswer reap(pid_t pid, bool timed_out) {
  IsolatedAnswer out;
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    out.end = IsolatedAnswer::End::kTimedOut;
  } else if (WIFSIGNALED(status)) {
    out.end = IsolatedAnswer::End::kCrashed, out.signal = WTERMSIG(status);
  } else {
    out.end = IsolatedAnswer::End::kAnswered;
  }
  return out;
}

}  // namespace

bool ChildPipe::write(const void* data, size_t size) { return write_all(fd_, static_cast<const char*>(data), size); }

IsolatedAnswer call_in_child_streamed(const std::function<void(ChildPipe&)>& call,
                                      const std::function<void(const char*, size_t)>& take, double timeout_seconds) {
  IsolatedAnswer out;
  int fds[2];
  // Close-on-exec: a process another thread starts meanwhile (a seed, ffmpeg)
  // must not hold the write end, or this end would never see end of file.
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    out.text = std::string("cannot create a pipe to a child process (") + std::strerror(errno) + ")";
    return out;
  }
  std::fflush(nullptr);  // nothing buffered is written twice, by the child too
  const pid_t pid = ::fork();
  if (pid < 0) {
    out.text = std::string("cannot fork a child process (") + std::strerror(errno) + ")";
    ::close(fds[0]), ::close(fds[1]);
    return out;
  }
  if (pid == 0) {
    ::close(fds[0]);
    run_child(call, fds[1]);
  }
  ::close(fds[1]);
  bool timed_out = false;
  try {
    timed_out = !read_until_eof(fds[0], timeout_seconds, take);
  } catch (...) {  // the parent refused the answer: no child is left running or unreaped
    ::close(fds[0]);
    reap(pid, /*timed_out=*/true);
    throw;
  }
  ::close(fds[0]);
  return reap(pid, timed_out);
}

IsolatedAnswer call_in_child(const std::function<std::string()>& call, double timeout_seconds) {
  std::string text;
  auto out = call_in_child_streamed(
      [&](ChildPipe& pipe) {
        const auto answer = call();  // an exception: no byte written, the answer ""
        pipe.write(answer.data(), answer.size());
      },
      [&](const char* data, size_t size) { text.append(data, size); }, timeout_seconds);
  if (out.end != IsolatedAnswer::End::kNoChild) out.text = std::move(text);
  return out;
}

std::string describe_signal(int signal) { return "signal " + std::to_string(signal) + ", " + ::strsignal(signal); }

}  // namespace aaren::base
