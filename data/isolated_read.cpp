// read_dataset_isolated: the HDF5 read in a forked child, its result streamed
// back over a pipe, array by array, into the parent's vectors (host byte order:
// both ends are the same binary on the same machine).
#include <algorithm>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <new>
#include <string>
#include <type_traits>
#include <vector>

#include "base/isolated_call.h"
#include "data/hdf5_io.h"

namespace aaren::data {

namespace {

// Every field of Transitions that travels as numbers, in the order both ends use: the scalars,
// then the arrays. `visit` takes each (a scalar or a std::vector of one).
template <class Visit>
void for_each_number_field(Transitions& t, Visit&& visit) {
  visit(t.size), visit(t.obs_dim), visit(t.act_dim), visit(t.nq), visit(t.nv), visit(t.has_timeouts);
  visit(t.observations), visit(t.actions), visit(t.rewards), visit(t.terminals), visit(t.timeouts);
  visit(t.next_observations), visit(t.qpos), visit(t.qvel), visit(t.qacc_warmstart), visit(t.episode_starts);
}

template <class T>
struct IsVector : std::false_type {};
template <class T>
struct IsVector<std::vector<T>> : std::true_type {};

// The text fields (metadata, dtypes, warnings) as one block: small beside the arrays.
class Writer {
 public:
  template <class T>
  void pod(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    bytes_.append(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  void str(const std::string& s) {
    pod<uint64_t>(s.size());
    bytes_.append(s);
  }
  void map(const std::map<std::string, std::string>& m) {
    pod<uint64_t>(m.size());
    for (const auto& [k, v] : m) str(k), str(v);
  }
  std::string& bytes() { return bytes_; }

 private:
  std::string bytes_;
};

class Reader {
 public:
  explicit Reader(const std::string& bytes) : bytes_(bytes) {}
  template <class T>
  T pod() {
    T v;
    need(sizeof(T));
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string str() {
    const auto n = pod<uint64_t>();
    need(n);
    std::string s = bytes_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  std::map<std::string, std::string> map() {
    std::map<std::string, std::string> m;
    for (auto n = pod<uint64_t>(); n > 0; --n) {
      auto k = str();
      m[k] = str();
    }
    return m;
  }
  bool at_end() const { return pos_ == bytes_.size(); }

 private:
  void need(size_t n) const {
    if (n > bytes_.size() - pos_) throw std::runtime_error("short message");
  }
  const std::string& bytes_;
  size_t pos_ = 0;
};

std::string text_block(const Transitions& t) {
  Writer w;
  w.map(t.metadata), w.map(t.dtypes);
  w.pod<uint64_t>(t.warnings.size());
  for (const auto& s : t.warnings) w.str(s);
  return std::move(w.bytes());
}

// The child's answer: 'T', the bytes that follow, then each field (an array as its length and
// its values) and the text block. Each array is released once sent, so the child's copy
// shrinks as the parent's grows: together they hold the arrays about once, not the arrays,
// a message of them and its copy. 'E' + a DataError's message, 'X' + another exception's.
void send_transitions(Transitions t, base::ChildPipe& pipe) {
  const auto text = text_block(t);
  uint64_t bytes = sizeof(uint64_t) + text.size();
  for_each_number_field(t, [&](auto& f) {
    using F = std::decay_t<decltype(f)>;
    if constexpr (IsVector<F>::value)
      bytes += sizeof(uint64_t) + f.size() * sizeof(typename F::value_type);
    else
      bytes += sizeof(F);
  });
  pipe.write("T", 1), pipe.write(&bytes, sizeof bytes);
  for_each_number_field(t, [&](auto& f) {
    using F = std::decay_t<decltype(f)>;
    if constexpr (IsVector<F>::value) {
      const uint64_t n = f.size();
      pipe.write(&n, sizeof n), pipe.write(f.data(), n * sizeof(typename F::value_type));
      F().swap(f);
    } else {
      pipe.write(&f, sizeof f);
    }
  });
  const uint64_t n = text.size();
  pipe.write(&n, sizeof n), pipe.write(text.data(), text.size());
}

void answer_in_child(const std::string& path, base::ChildPipe& pipe) {
  std::string failure;
  try {
    send_transitions(read_dataset(path), pipe);
    return;
  } catch (const DataError& e) {
    failure = std::string("E") + e.what();
  } catch (const std::exception& e) {
    failure = std::string("X") + e.what();
  } catch (...) {
    failure = "Xunknown failure";
  }
  pipe.write(failure.data(), failure.size());
}

// The parent's end of send_transitions: the bytes as they arrive go straight into the fields
// (an array's values into its vector, sized from the length before them), so the parent holds
// no message besides. A length beyond the bytes announced is refused before it is allocated.
class TransitionsFeed {
 public:
  TransitionsFeed() {
    steps_.push_back([this] { return Span{&status_, 1}; });
    steps_.push_back([this] { return Span{reinterpret_cast<char*>(&left_), sizeof left_}; });
    for_each_number_field(t_, [this](auto& f) { plan(f); });
    plan(text_);
  }
  TransitionsFeed(const TransitionsFeed&) = delete;
  TransitionsFeed& operator=(const TransitionsFeed&) = delete;

  void take(const char* data, size_t size);
  char status() const { return status_; }
  const std::string& message() const { return message_; }  // after 'E' or 'X'
  Transitions finish();

 private:
  struct Span {
    char* data;
    size_t size;
  };
  template <class F>
  void plan(F& f) {
    if constexpr (IsVector<F>::value || std::is_same_v<F, std::string>) {
      using Value = typename F::value_type;
      steps_.push_back([this] { return Span{reinterpret_cast<char*>(&length_), sizeof length_}; });
      steps_.push_back([this, &f] {
        if (length_ > left_ / sizeof(Value)) throw std::runtime_error("a length past the announced bytes");
        f.resize(length_);
        return Span{reinterpret_cast<char*>(f.data()), length_ * sizeof(Value)};
      });
    } else {
      steps_.push_back([&f] { return Span{reinterpret_cast<char*>(&f), sizeof f}; });
    }
  }

  Transitions t_;
  std::string text_, message_;
  char status_ = 0;
  uint64_t left_ = 0, length_ = 0;  // bytes announced and not yet come; the next array's length
  std::vector<std::function<Span()>> steps_;
  size_t next_step_ = 0;
  Span span_{nullptr, 0};
  bool counting_ = false;  // from the announced count on
};

void TransitionsFeed::take(const char* data, size_t size) {
  while (size > 0) {
    if (status_ != 0 && status_ != 'T') {  // a failure's message: kept whole up to 64 KiB
      message_.append(data, std::min(size, (size_t{1} << 16) - std::min(message_.size(), size_t{1} << 16)));
      return;
    }
    while (span_.size == 0) {
      if (next_step_ == steps_.size()) throw std::runtime_error("bytes past the answer's end");
      counting_ = next_step_ > 1;
      span_ = steps_[next_step_++]();
    }
    const size_t n = std::min(size, span_.size);
    if (counting_ && n > left_) throw std::runtime_error("more bytes than announced");
    std::memcpy(span_.data, data, n);
    span_.data += n, span_.size -= n, data += n, size -= n;
    if (counting_) left_ -= n;
  }
}

Transitions TransitionsFeed::finish() {
  if (span_.size != 0 || next_step_ != steps_.size() || left_ != 0) throw std::runtime_error("short answer");
  Reader r(text_);
  t_.metadata = r.map(), t_.dtypes = r.map();
  for (auto n = r.pod<uint64_t>(); n > 0; --n) t_.warnings.push_back(r.str());
  if (!r.at_end()) throw std::runtime_error("bytes past the text block");
  return std::move(t_);
}

}  // namespace

Transitions read_dataset_isolated(const std::string& path, double timeout_seconds) {
  // Cheap checks (missing file, FIFO, directory without Minari data) are
  // answered here, so a forked child is only ever given a real file.
  std::error_code ec;
  const bool directory = std::filesystem::is_directory(path, ec);
  if (!directory) {
    const auto status = std::filesystem::status(path, ec);
    if (!std::filesystem::exists(status)) throw DataError(path + ": no such file");
    if (!std::filesystem::is_regular_file(status))
      throw DataError(path + ": not a regular file (a FIFO, socket or device?), expected an HDF5 file");
  }
  if (timeout_seconds <= 0) {
    const auto bytes = directory ? 0 : std::filesystem::file_size(path, ec);
    timeout_seconds = 120.0 + static_cast<double>(ec ? 0 : bytes) / 20e6;
  }
  TransitionsFeed feed;
  base::IsolatedAnswer answer;
  const auto damaged = [&] { return DataError(path + ": the child process reading the file sent a damaged answer"); };
  try {
    answer =
        base::call_in_child_streamed([&](base::ChildPipe& pipe) { answer_in_child(path, pipe); },
                                     [&](const char* data, size_t size) { feed.take(data, size); }, timeout_seconds);
  } catch (const std::bad_alloc&) {
    throw DataError(path + ": not enough memory free for the file's arrays (the child reading it was stopped)");
  } catch (const std::exception&) {
    throw damaged();
  }
  using End = base::IsolatedAnswer::End;
  if (answer.end == End::kNoChild) throw DataError(path + ": " + answer.text + " to read the file");
  if (answer.end == End::kTimedOut)
    throw DataError(path + ": the HDF5 library did not finish reading the file in " +
                    std::to_string(static_cast<int>(timeout_seconds)) + " s (stuck on damaged metadata?)");
  // SIGKILL is the kernel's OOM killer (or a user), not libhdf5: the file is not blamed.
  if (answer.end == End::kCrashed && answer.signal == SIGKILL)
    throw DataError(path + ": the child process reading the file was killed (" + base::describe_signal(SIGKILL) +
                    "): out of memory? (reading holds the file's arrays about twice over at its peak)");
  if (answer.end == End::kCrashed)
    throw DataError(path + ": the HDF5 library crashed reading the file (" + base::describe_signal(answer.signal) +
                    "): the file is damaged");
  switch (feed.status()) {
    case 0:
      throw DataError(path + ": the child process reading the file ended without an answer");
    case 'T':
      try {
        return feed.finish();
      } catch (const std::exception&) {
        throw damaged();
      }
    case 'E':
      throw DataError(feed.message());
    default:
      throw DataError(path + ": reading failed: " + feed.message());
  }
}

EpisodeData read_episode_data(const std::string& path) {
  EpisodeData d;
  d.transitions = read_dataset_isolated(path);  // a file that crashes libhdf5 cannot take the caller down
  d.split = split_episodes(d.transitions);
  if (d.split.episodes.empty())
    throw DataError(path + ": no complete episode (" + std::to_string(d.transitions.size) +
                    " transitions, none ends with a terminal, a timeout or the step limit)");
  return d;
}

}  // namespace aaren::data
