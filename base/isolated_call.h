// A call made in a forked child process, for library code that may crash or
// hang on damaged input (libhdf5 on a damaged file, LibTorch's TorchScript
// parser on a damaged unsealed archive): the child's crash or hang becomes an
// answer the caller turns into one line naming the file, and the caller's
// process goes on.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

namespace aaren::base {

struct IsolatedAnswer {
  enum class End {
    kAnswered,  // the call returned; `text` is what it returned (call_in_child)
    kCrashed,   // a signal ended the child (`signal`)
    kTimedOut,  // no end within the time given: the child was killed
    kNoChild,   // no pipe or no fork (`text` says which)
  };
  End end = End::kNoChild;
  std::string text;
  int signal = 0;
};

// Runs `call` in a forked child and returns what it returned, read over a pipe
// (both ends are this binary on this machine). `call` should not throw: an
// exception that leaves it is answered with "" (the child never unwinds into
// its parent's code). C stdio's buffers are flushed before the fork (the
// child ends with _exit, which writes none of them); a caller that has
// written to std::cout without a flush flushes it first. The child restores the default handlers of the crash
// signals (a test framework's or a debugger's would run in it otherwise) and
// sends its stderr to /dev/null (a library's dying words are not the user's
// message), offers itself first to the kernel's OOM killer and writes no core
// file, and ends with _exit (none of the parent's atexit handlers or
// destructors run in it). Only the calling thread exists in the child: `call`
// must not wait on threads of the parent (an OpenMP pool among them).
IsolatedAnswer call_in_child(const std::function<std::string()>& call, double timeout_seconds);

// The child's end of the pipe in call_in_child_streamed.
class ChildPipe {
 public:
  explicit ChildPipe(int fd) : fd_(fd) {}
  // All `size` bytes, blocking while the parent catches up; false when the pipe is closed.
  bool write(const void* data, size_t size);

 private:
  int fd_;
};

// call_in_child for answers too large to hold twice (a dataset's arrays): `call` writes its
// answer to the pipe as it goes, and the parent hands each piece to `take` as it arrives, so
// neither process holds the whole answer as one message; the answer's `text` stays empty
// (but for kNoChild, where it says why there is no child). An
// exception that leaves `call` ends the answer where it is. One that leaves `take` (the parent
// found the answer damaged) kills the child, waits for it, and goes on to the caller.
IsolatedAnswer call_in_child_streamed(const std::function<void(ChildPipe&)>& call,
                                      const std::function<void(const char* data, size_t size)>& take,
                                      double timeout_seconds);

// "signal 11, Segmentation fault".
std::string describe_signal(int signal);

}  // namespace aaren::base
