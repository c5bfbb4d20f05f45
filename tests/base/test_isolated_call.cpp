// A call in a forked child: its answer, its crash, its hang and its exception
// each come back to the caller, whose process goes on.
#include <catch2/catch.hpp>

#include <unistd.h>

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
