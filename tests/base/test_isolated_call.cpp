// A call in a forked child: its answer, its crash, its hang and its exception
// each come back to the caller, whose process goes on.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <sys/wait.h>

#include <csignal>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "base/isolated_call.h"

using aaren::base::call_in_child;
using aaren::base::IsolatedAnswer;

TEST_CASE("isolated call: an answer, a crash, a hang and an exception each come back as such", "[base]") {
  const pid_t parent = ::getpid();
  auto answer = call_in_child([&] { return std::string(::getpid() == parent ? "same" : "other") + " process"; }, 30);
  CHECK(answer.end == IsolatedAnswer::End::kAnswered);
  CHECK(answer.text == "other process");
  // An answer larger than a pipe's buffer (64 KiB) arrives whole.
  answer = call_in_child([] { return std::string(1 << 20, 'x'); }, 30);
  CHECK(answer.end == IsolatedAnswer::End::kAnswered);
  CHECK(answer.text == std::string(1 << 20, 'x'));

  answer = call_in_child(
      []() -> std::string {
        std::raise(SIGSEGV);
        return "not reached";
      },
      30);
  CHECK(answer.end == IsolatedAnswer::End::kCrashed);
  CHECK(answer.signal == SIGSEGV);
  CHECK(aaren::base::describe_signal(SIGSEGV) == "signal 11, Segmentation fault");

  answer = call_in_child(
      []() -> std::string {
        ::pause();  // waits for a signal that never comes
        return "not reached";
      },
      0.5);
  CHECK(answer.end == IsolatedAnswer::End::kTimedOut);

  answer = call_in_child([]() -> std::string { throw std::runtime_error("escaped"); }, 30);
  CHECK(answer.end == IsolatedAnswer::End::kAnswered);
  CHECK(answer.text.empty());
}

// The streamed form: the child's pieces arrive in order and whole, however the pipe splits them;
// a parent that refuses the answer (its `take` throws) has the child killed and reaped, and the
// exception reaches the caller; a child's exception ends the answer where it is.
TEST_CASE("isolated call: a streamed answer arrives in order, and a refused one stops its child", "[base]") {
  using aaren::base::ChildPipe;
  std::string got;
  const auto append = [&](const char* data, size_t size) { got.append(data, size); };
  auto answer = aaren::base::call_in_child_streamed(
      [](ChildPipe& pipe) {
        for (int piece = 0; piece < 40; ++piece) {
          const std::string block(1 << 14, static_cast<char>('a' + piece % 26));  // 640 KiB in all
          pipe.write(block.data(), block.size());
        }
      },
      append, 30);
  CHECK(answer.end == IsolatedAnswer::End::kAnswered);
  std::string sent;
  for (int piece = 0; piece < 40; ++piece) sent += std::string(1 << 14, static_cast<char>('a' + piece % 26));
  CHECK(got == sent);
  CHECK(answer.text.empty());

  got.clear();
  answer = aaren::base::call_in_child_streamed(
      [](ChildPipe& pipe) {
        pipe.write("begun", 5);
        throw std::runtime_error("escaped");
      },
      append, 30);
  CHECK(answer.end == IsolatedAnswer::End::kAnswered);
  CHECK(got == "begun");

  // The child writes, then waits for ever, deaf to SIGPIPE: only the parent's kill can end it
  // (a parent that only waited would hang here until ctest's timeout).
  CHECK_THROWS_WITH(aaren::base::call_in_child_streamed(
                        [](ChildPipe& pipe) {
                          ::signal(SIGPIPE, SIG_IGN);
                          pipe.write("x", 1);
                          for (;;) ::pause();
                        },
                        [](const char*, size_t) { throw std::runtime_error("refused"); }, 30),
                    "refused");
  // No child left to reap: it was waited for. (This test binary starts no other child process.)
  int status = 0;
  CHECK(::waitpid(-1, &status, WNOHANG) < 0);
}
