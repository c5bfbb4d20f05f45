#include "data/transitions_stream.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <stdexcept>
#include <type_traits>

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
    if (n > bytes_.size() - pos_) throw std::runtime_error("short text block");
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

}  // namespace

// Each array released once written: the child's copy shrinks as the parent's grows, so that
// together they hold the arrays about once (not the arrays, a message of them and its copy).
void write_transitions(Transitions t, const std::function<void(const void*, size_t)>& write) {
  const auto text = text_block(t);
  uint64_t bytes = sizeof(uint64_t) + text.size();
  for_each_number_field(t, [&](auto& f) {
    using F = std::decay_t<decltype(f)>;
    if constexpr (IsVector<F>::value)
      bytes += sizeof(uint64_t) + f.size() * sizeof(typename F::value_type);
    else
      bytes += sizeof(F);
  });
  write("T", 1), write(&bytes, sizeof bytes);
  for_each_number_field(t, [&](auto& f) {
    using F = std::decay_t<decltype(f)>;
    if constexpr (IsVector<F>::value) {
      const uint64_t n = f.size();
      write(&n, sizeof n), write(f.data(), n * sizeof(typename F::value_type));
      F().swap(f);
    } else {
      write(&f, sizeof f);
    }
  });
  const uint64_t n = text.size();
  write(&n, sizeof n), write(text.data(), text.size());
}

// The steps give, in the writer's order, where the next bytes go: the status, the count, then
// each field; an array's step sizes its vector from the length just read.
TransitionsFeed::TransitionsFeed() {
  steps_.push_back([this] { return Span{&status_, 1}; });
  steps_.push_back([this] { return Span{reinterpret_cast<char*>(&left_), sizeof left_}; });
  for_each_number_field(t_, [this](auto& f) { plan(f); });
  plan(text_);
}

template <class F>
void TransitionsFeed::plan(F& f) {
  if constexpr (IsVector<F>::value || std::is_same_v<F, std::string>) {
    using Value = typename F::value_type;
    steps_.push_back([this] { return Span{reinterpret_cast<char*>(&length_), sizeof length_}; });
    steps_.push_back([this, &f] {
      if (length_ > left_ / sizeof(Value)) throw std::runtime_error("a length past the bytes announced");
      f.resize(length_);
      return Span{reinterpret_cast<char*>(f.data()), length_ * sizeof(Value)};
    });
  } else {
    steps_.push_back([&f] { return Span{reinterpret_cast<char*>(&f), sizeof f}; });
  }
}

void TransitionsFeed::next_span() {
  counting_ = next_step_ > 1;  // the status byte and the count itself are not counted
  span_ = steps_[next_step_++]();
}

void TransitionsFeed::take(const char* data, size_t size) {
  constexpr size_t kMessageCap = size_t{1} << 16;
  while (size > 0) {
    if (status_ != 0 && status_ != 'T') {  // an error's message
      message_.append(data, std::min(size, kMessageCap - std::min(message_.size(), kMessageCap)));
      return;
    }
    while (span_.size == 0) {
      if (next_step_ == steps_.size()) throw std::runtime_error("bytes past the answer's end");
      next_span();
    }
    const size_t n = std::min(size, span_.size);
    if (counting_ && n > left_) throw std::runtime_error("more bytes than announced");
    std::memcpy(span_.data, data, n);
    span_.data += n, span_.size -= n, data += n, size -= n;
    if (counting_) left_ -= n;
  }
}

Transitions TransitionsFeed::finish() {
  while (span_.size == 0 && next_step_ < steps_.size() && next_step_ > 1) next_span();  // trailing empty fields
  if (status_ != 'T' || span_.size != 0 || next_step_ != steps_.size() || left_ != 0)
    throw std::runtime_error("a short answer");
  Reader r(text_);
  t_.metadata = r.map(), t_.dtypes = r.map();
  for (auto n = r.pod<uint64_t>(); n > 0; --n) t_.warnings.push_back(r.str());
  if (!r.at_end()) throw std::runtime_error("bytes past the text block");
  return std::move(t_);
}

}  // namespace aaren::data
