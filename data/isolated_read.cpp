// read_dataset_isolated: the HDF5 read in a forked child, its result sent
// back over a pipe as a flat byte stream (host byte order: both ends are the
// same binary on the same machine).
#include <csignal>
#include <cstring>
#include <filesystem>
#include <string>
#include <type_traits>

#include "base/isolated_call.h"
#include "data/hdf5_io.h"

namespace aaren::data {

namespace {

class Writer {
 public:
  template <class T>
  void pod(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    bytes_.append(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  template <class T>
  void vec(const std::vector<T>& v) {
    pod<uint64_t>(v.size());
    bytes_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
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
  Reader(const std::string& bytes, size_t pos) : bytes_(bytes), pos_(pos) {}
  template <class T>
  T pod() {
    T v;
    need(sizeof(T));
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  template <class T>
  std::vector<T> vec() {
    const auto n = pod<uint64_t>();
    if (n > (bytes_.size() - pos_) / sizeof(T)) throw std::runtime_error("short message");
    std::vector<T> v(n);
    std::memcpy(v.data(), bytes_.data() + pos_, n * sizeof(T));
    pos_ += n * sizeof(T);
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

 private:
  void need(size_t n) const {
    if (n > bytes_.size() - pos_) throw std::runtime_error("short message");
  }
  const std::string& bytes_;
  size_t pos_;
};

std::string encode(const Transitions& t) {
  Writer w;
  w.pod(t.size), w.pod(t.obs_dim), w.pod(t.act_dim), w.pod(t.nq), w.pod(t.nv), w.pod(t.has_timeouts);
  w.vec(t.observations), w.vec(t.actions), w.vec(t.rewards), w.vec(t.terminals), w.vec(t.timeouts);
  w.vec(t.next_observations), w.vec(t.qpos), w.vec(t.qvel), w.vec(t.qacc_warmstart), w.vec(t.episode_starts);
  w.map(t.metadata), w.map(t.dtypes);
  w.pod<uint64_t>(t.warnings.size());
  for (const auto& s : t.warnings) w.str(s);
  return std::move(w.bytes());
}

// `bytes` from `pos` on (the status byte before it).
Transitions decode(const std::string& bytes, size_t pos) {
  Reader r(bytes, pos);
  Transitions t;
  t.size = r.pod<int64_t>(), t.obs_dim = r.pod<int64_t>(), t.act_dim = r.pod<int64_t>();
  t.nq = r.pod<int64_t>(), t.nv = r.pod<int64_t>(), t.has_timeouts = r.pod<bool>();
  t.observations = r.vec<float>(), t.actions = r.vec<float>(), t.rewards = r.vec<float>();
  t.terminals = r.vec<uint8_t>(), t.timeouts = r.vec<uint8_t>();
  t.next_observations = r.vec<float>(), t.qpos = r.vec<double>(), t.qvel = r.vec<double>();
  t.qacc_warmstart = r.vec<double>(), t.episode_starts = r.vec<int64_t>();
  t.metadata = r.map(), t.dtypes = r.map();
  for (auto n = r.pod<uint64_t>(); n > 0; --n) t.warnings.push_back(r.str());
  return t;
}

// The child's message: one status byte ('T' transitions, 'E' DataError,
// 'X' another exception), then the payload.
std::string read_in_child(const std::string& path) {
  try {
    return "T" + encode(read_dataset(path));
  } catch (const DataError& e) {
    return std::string("E") + e.what();
  } catch (const std::exception& e) {
    return std::string("X") + e.what();
  } catch (...) {
    return "Xunknown failure";
  }
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
  const auto answer = base::call_in_child([&] { return read_in_child(path); }, timeout_seconds);
  using End = base::IsolatedAnswer::End;
  if (answer.end == End::kNoChild) throw DataError(path + ": " + answer.text + " to read the file");
  if (answer.end == End::kTimedOut)
    throw DataError(path + ": the HDF5 library did not finish reading the file in " +
                    std::to_string(static_cast<int>(timeout_seconds)) + " s (stuck on damaged metadata?)");
  // SIGKILL is the kernel's OOM killer (or a user), not libhdf5: the file is not blamed.
  if (answer.end == End::kCrashed && answer.signal == SIGKILL)
    throw DataError(path + ": the child process reading the file was killed (" + base::describe_signal(SIGKILL) +
                    "): out of memory? (reading holds the file's arrays several times over)");
  if (answer.end == End::kCrashed)
    throw DataError(path + ": the HDF5 library crashed reading the file (" + base::describe_signal(answer.signal) +
                    "): the file is damaged");
  const auto& message = answer.text;
  if (message.empty()) throw DataError(path + ": the child process reading the file ended without an answer");
  switch (message[0]) {
    case 'T':
      try {
        return decode(message, 1);
      } catch (const std::exception&) {
        throw DataError(path + ": the child process reading the file sent a damaged answer");
      }
    case 'E':
      throw DataError(message.substr(1));
    default:
      throw DataError(path + ": reading failed: " + message.substr(1));
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
