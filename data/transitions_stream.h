// Transitions as a byte stream, for the isolated read (data/isolated_read.cpp): the child
// writes a file's arrays one after another, each released once written, and the parent's
// TransitionsFeed puts the bytes, as they arrive, straight into its vectors. Host byte order:
// both ends are the same binary on the same machine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/transitions.h"

namespace aaren::data {

// Writes `t` as 'T', the count of the bytes that follow, each scalar field, each array (its
// length, its values: released once written) and a block of the text fields (metadata, dtypes,
// warnings). Computes everything before its first write: once it has begun, it does not throw.
void write_transitions(Transitions t, const std::function<void(const void* data, size_t size)>& write);

// The reading end of write_transitions. A stream that is not one (a length past the bytes
// announced, bytes past the end) throws std::runtime_error before anything is allocated for it;
// one that stops short is refused by finish().
class TransitionsFeed {
 public:
  TransitionsFeed();
  TransitionsFeed(const TransitionsFeed&) = delete;
  TransitionsFeed& operator=(const TransitionsFeed&) = delete;

  // Bytes as they arrive, split anywhere. After a first byte other than 'T' (an error's
  // status), the rest is kept as message() (up to 64 KiB).
  void take(const char* data, size_t size);
  char status() const { return status_; }  // 0 before the first byte
  const std::string& message() const { return message_; }
  // The transitions, once every byte announced has come.
  Transitions finish();

 private:
  struct Span {
    char* data;
    size_t size;
  };
  template <class F>
  void plan(F& f);
  void next_span();

  Transitions t_;
  std::string text_, message_;
  char status_ = 0;
  uint64_t left_ = 0, length_ = 0;  // bytes announced and not yet come; the next array's length
  std::vector<std::function<Span()>> steps_;
  size_t next_step_ = 0;
  Span span_{nullptr, 0};
  bool counting_ = false;  // from the announced count on
};

}  // namespace aaren::data
