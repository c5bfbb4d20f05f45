#include "runtime/policy_file.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

#include "base/atomic_file.h"
#include "base/numbers.h"
#include "runtime/sealed_file.h"

namespace aaren::lean {

namespace {

constexpr char kMagic[8] = {'A', 'A', 'R', 'E', 'N', 'P', 'O', 'L'};

// FNV-1a, 64 bit. Version 1 was written with an offset basis one digit
// short of the standard 14695981039346656037 (a reader written from the
// FNV specification would reject every such file); version 2 uses the
// standard one, and version-1 files are checked with what wrote them.
constexpr uint64_t kFnvBasis = 14695981039346656037ull, kFnvBasisVersion1 = 1469598103934665603ull;

uint64_t fnv1a(const char* data, size_t size, uint64_t basis = kFnvBasis) { return sealed::fnv1a(data, size, basis); }

// Appends raw little-endian values (x86-64 and ARM64 are little-endian).
template <class T>
void put(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}

class Reader {
 public:
  Reader(const std::string& path, const std::string& bytes) : path_(path), bytes_(bytes) {}
  template <class T>
  T get(const char* what) {
    T value;
    need(sizeof(T), what);
    std::memcpy(&value, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }
  std::string get_bytes(size_t n, const char* what) {
    need(n, what);
    std::string s = bytes_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  void get_floats(float* out, size_t n, const std::string& what) {
    need(n * sizeof(float), what.c_str());
    std::memcpy(out, bytes_.data() + pos_, n * sizeof(float));
    pos_ += n * sizeof(float);
  }
  size_t pos() const { return pos_; }
  [[noreturn]] void fail(const std::string& what) const { throw PolicyFileError(path_ + ": " + what); }

 private:
  void need(size_t n, const char* what) const {
    if (n > bytes_.size() - pos_) fail(std::string("truncated (ends inside ") + what + ")");
  }
  const std::string& path_;
  const std::string& bytes_;
  size_t pos_ = 0;
};

}  // namespace

int64_t PolicyFile::integer(const std::string& key) const {
  const auto& s = text(key);
  try {
    size_t used = 0;
    const auto v = std::stoll(s, &used);
    if (used == s.size()) return v;
  } catch (const std::exception&) {
  }
  throw PolicyFileError("policy header '" + key + "' must be an integer, got '" + s + "'");
}

double PolicyFile::real(const std::string& key) const {
  const auto& s = text(key);
  double v = 0;
  if (base::parse_real(s, v)) return v;  // not std::stod: the host program's locale may use decimal commas
  throw PolicyFileError("policy header '" + key + "' must be a number, got '" + s + "'");
}

const std::string& PolicyFile::text(const std::string& key) const {
  const auto it = header.find(key);
  if (it == header.end()) throw PolicyFileError("policy header has no '" + key + "'");
  return it->second;
}

const FloatTensor& PolicyFile::tensor(const std::string& name, const std::vector<int64_t>& dims) const {
  const auto it = tensors.find(name);
  if (it == tensors.end()) throw PolicyFileError("policy file has no tensor '" + name + "'");
  if (it->second.dims != dims) {
    std::ostringstream msg;
    msg << "policy tensor '" << name << "' has shape [";
    for (size_t i = 0; i < it->second.dims.size(); ++i) msg << (i ? ", " : "") << it->second.dims[i];
    msg << "], expected [";
    for (size_t i = 0; i < dims.size(); ++i) msg << (i ? ", " : "") << dims[i];
    msg << "]";
    throw PolicyFileError(msg.str());
  }
  return it->second;
}

void write_policy_file(const std::string& path, const PolicyFile& file) {
  std::string header;
  for (const auto& [key, value] : file.header) {
    if (key.find_first_of("=\n") != std::string::npos || value.find('\n') != std::string::npos)
      throw PolicyFileError(path + ": header entry '" + key + "' cannot hold '=' or a newline");
    header += key + "=" + value + "\n";
  }
  std::string out(kMagic, sizeof(kMagic));
  put<uint32_t>(out, PolicyFile::kVersion);
  put<uint32_t>(out, static_cast<uint32_t>(header.size()));
  out += header;
  put<uint32_t>(out, static_cast<uint32_t>(file.tensors.size()));
  for (const auto& [name, t] : file.tensors) {
    int64_t count = 1;
    for (auto d : t.dims) count *= d;
    if (count != static_cast<int64_t>(t.data.size()))
      throw PolicyFileError(path + ": tensor '" + name + "' has " + std::to_string(t.data.size()) +
                            " values for its shape's " + std::to_string(count));
    put<uint32_t>(out, static_cast<uint32_t>(name.size()));
    out += name;
    put<uint32_t>(out, static_cast<uint32_t>(t.dims.size()));
    for (auto d : t.dims) put<uint64_t>(out, static_cast<uint64_t>(d));
    out.append(reinterpret_cast<const char*>(t.data.data()), t.data.size() * sizeof(float));
  }
  put<uint64_t>(out, fnv1a(out.data(), out.size()));

  try {
    base::write_file_atomically(path, out);
  } catch (const base::FileWriteError& e) {
    throw PolicyFileError(e.what());
  }
}

PolicyFile read_policy_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw PolicyFileError(path + ": no such policy file (or not readable)");
  const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  Reader r(path, bytes);
  if (bytes.size() < sizeof(kMagic) || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0)
    r.fail("not a lean policy file (no AARENPOL magic; make one with 'aaren export')");
  r.get_bytes(sizeof(kMagic), "magic");
  const auto version = r.get<uint32_t>("version");
  if (version < PolicyFile::kOldestVersion || version > PolicyFile::kVersion)
    r.fail("format version " + std::to_string(version) + ", this runtime reads versions " +
           std::to_string(PolicyFile::kOldestVersion) + "-" + std::to_string(PolicyFile::kVersion));
  if (bytes.size() < sizeof(kMagic) + 8 + sizeof(uint64_t)) r.fail("truncated");
  uint64_t stored = 0;
  std::memcpy(&stored, bytes.data() + bytes.size() - sizeof(uint64_t), sizeof(uint64_t));
  if (stored != fnv1a(bytes.data(), bytes.size() - sizeof(uint64_t), version == 1 ? kFnvBasisVersion1 : kFnvBasis))
    r.fail("checksum mismatch (the file is corrupt or truncated)");

  PolicyFile file;
  const auto header_size = r.get<uint32_t>("header length");
  std::istringstream header(r.get_bytes(header_size, "header"));
  for (std::string line; std::getline(header, line);) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) r.fail("header line without '=': '" + line + "'");
    file.header[line.substr(0, eq)] = line.substr(eq + 1);
  }
  const auto count = r.get<uint32_t>("tensor count");
  for (uint32_t i = 0; i < count; ++i) {
    const auto name = r.get_bytes(r.get<uint32_t>("tensor name length"), "tensor name");
    FloatTensor t;
    const auto rank = r.get<uint32_t>("tensor rank");
    if (rank > 8) r.fail("tensor '" + name + "' has rank " + std::to_string(rank));
    uint64_t n = 1;
    for (uint32_t k = 0; k < rank; ++k) {
      const auto d = r.get<uint64_t>("tensor dims");
      if (d > (1ull << 32)) r.fail("tensor '" + name + "' has a dimension of " + std::to_string(d));
      t.dims.push_back(static_cast<int64_t>(d));
      n *= d;
    }
    if (n * sizeof(float) > bytes.size()) r.fail("tensor '" + name + "' is larger than the file");
    t.data.resize(n);
    r.get_floats(t.data.data(), n, "tensor '" + name + "'");
    // A policy exported from a diverged run (before export refused one) acts with NaN.
    for (uint64_t k = 0; k < n; ++k)
      if (!std::isfinite(t.data[k]))
        r.fail("tensor '" + name + "' holds a value that is not finite at " + std::to_string(k) +
               " (the model it was exported from diverged)");
    file.tensors.emplace(name, std::move(t));
  }
  if (r.pos() + sizeof(uint64_t) != bytes.size()) r.fail("unexpected bytes after the last tensor");
  return file;
}

}  // namespace aaren::lean
