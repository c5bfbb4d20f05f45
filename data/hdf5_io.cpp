// HDF5 C API plumbing for the D4RL/Minari readers and the D4RL writer.
// Every failure becomes a DataError naming the file and the key; HDF5's own
// error stack printing is switched off.
#include "data/hdf5_io.h"

#include <hdf5.h>

#include <unistd.h>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "base/file_hash.h"
#include "base/free_memory.h"

namespace aaren::data {

namespace {

void silence_hdf5() {
  static const bool done = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)done;
}

// The names of a group's links, in name order; at most `limit` of them.
// False when libhdf5 cannot list the group (a damaged file).
bool list_children(hid_t group, std::vector<std::string>& names, size_t limit = SIZE_MAX) {
  struct Listing {
    std::vector<std::string>* names;
    size_t limit;
  } listing{&names, limit};
  auto collect = [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
    auto* l = static_cast<Listing*>(data);
    l->names->push_back(name);
    return l->names->size() > l->limit ? 1 : 0;  // 1 stops the iteration
  };
  return H5Literate(group, H5_INDEX_NAME, H5_ITER_NATIVE, nullptr, collect, &listing) >= 0;
}

// Owns an HDF5 identifier and closes it with the matching H5*close.
class Handle {
 public:
  Handle() = default;
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = H5I_INVALID_HID; }
  Handle& operator=(Handle&& o) noexcept {
    std::swap(id_, o.id_);
    std::swap(close_, o.close_);
    return *this;
  }
  ~Handle() {
    if (id_ >= 0 && close_) close_(id_);
  }
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_ = H5I_INVALID_HID;
  herr_t (*close_)(hid_t) = nullptr;
};

std::string join_dims(const std::vector<hsize_t>& dims) {
  std::ostringstream os;
  os << "(";
  for (size_t i = 0; i < dims.size(); ++i) os << (i ? ", " : "") << dims[i];
  if (dims.size() == 1) os << ",";
  os << ")";
  return os.str();
}

std::string dtype_name(hid_t type) {
  const auto cls = H5Tget_class(type);
  const auto size = H5Tget_size(type);
  switch (cls) {
    case H5T_FLOAT:
      return "float" + std::to_string(8 * size);
    case H5T_INTEGER:
      return std::string(H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + std::to_string(8 * size);
    case H5T_ENUM: {
      if (H5Tget_nmembers(type) == 2) {
        char* a = H5Tget_member_name(type, 0);
        char* b = H5Tget_member_name(type, 1);
        const bool is_bool = a && b && std::string(a) == "FALSE" && std::string(b) == "TRUE";
        H5free_memory(a);
        H5free_memory(b);
        if (is_bool) return "bool";
      }
      return "enum";
    }
    case H5T_STRING:
      return "string";
    case H5T_COMPOUND:
      return "compound";
    default:
      return "non-numeric";
  }
}

// An open file plus the path for messages.
class File {
 public:
  File(const std::string& path, bool write = false) : path_(path) {
    silence_hdf5();
    if (write) {
      // The HDF5 1.10 file format: superblock, object headers and chunk
      // indexes carry checksums, so damage to a file we wrote is found when
      // it is read, instead of being followed. h5py (HDF5 >= 1.10) reads it.
      Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
      H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V110, H5F_LIBVER_V110);
      file_ = Handle(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), H5Fclose);
      if (!file_.valid()) fail("cannot create the file");
      return;
    }
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (!std::filesystem::exists(status)) fail("no such file");
    if (std::filesystem::is_directory(status)) fail("is a directory, expected an HDF5 file");
    // A FIFO or a device would block libhdf5's open (or feed it endless bytes).
    if (!std::filesystem::is_regular_file(status))
      fail("not a regular file (a FIFO, socket or device?), expected an HDF5 file");
    if (std::filesystem::file_size(path, ec) == 0) fail("the file is empty, expected an HDF5 file");
    const htri_t is_hdf5 = H5Fis_hdf5(path.c_str());
    if (is_hdf5 <= 0) fail("not an HDF5 file (no HDF5 signature)");
    file_ = Handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
    if (!file_.valid()) fail("cannot open the HDF5 file (truncated or corrupt?)");
  }

  [[noreturn]] void fail(const std::string& what) const { throw DataError(path_ + ": " + what); }
  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw DataError(path_ + ": key '" + key + "': " + what);
  }

  // Whether every component of `key` exists (H5Lexists needs each parent).
  bool exists(const std::string& key) const {
    std::string prefix;
    std::stringstream ss(key);
    for (std::string part; std::getline(ss, part, '/');) {
      prefix += (prefix.empty() ? "" : "/") + part;
      if (H5Lexists(file_.get(), prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    }
    return true;
  }

  bool is_group(const std::string& key) const {
    if (!exists(key)) return false;
    Handle obj(H5Oopen(file_.get(), key.c_str(), H5P_DEFAULT), H5Oclose);
    return obj.valid() && H5Iget_type(obj.get()) == H5I_GROUP;
  }

  hid_t id() const { return file_.get(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  Handle file_;
};

// An open dataset with its shape and type.
struct Dataset {
  Handle dset, type, space;
  std::vector<hsize_t> dims;
  std::string dtype;
  H5T_class_t cls = H5T_NO_CLASS;
  int64_t elements = 1;
};

Dataset open_dataset(const File& f, const std::string& key) {
  if (!f.exists(key)) f.fail(key, "missing (required)");
  Handle obj(H5Oopen(f.id(), key.c_str(), H5P_DEFAULT), H5Oclose);
  if (!obj.valid()) f.fail(key, "cannot open (file truncated or corrupt?)");
  if (H5Iget_type(obj.get()) != H5I_DATASET) f.fail(key, "is a group, expected a dataset");
  Dataset d;
  d.dset = Handle(H5Dopen2(f.id(), key.c_str(), H5P_DEFAULT), H5Dclose);
  if (!d.dset.valid()) f.fail(key, "cannot open the dataset (file truncated or corrupt?)");
  d.type = Handle(H5Dget_type(d.dset.get()), H5Tclose);
  d.space = Handle(H5Dget_space(d.dset.get()), H5Sclose);
  if (!d.type.valid() || !d.space.valid()) f.fail(key, "cannot read type or shape (corrupt?)");
  const int rank = H5Sget_simple_extent_ndims(d.space.get());
  if (rank < 0) f.fail(key, "cannot read the shape (corrupt?)");
  d.dims.resize(rank);
  H5Sget_simple_extent_dims(d.space.get(), d.dims.data(), nullptr);
  for (auto n : d.dims)  // a declared shape may count past int64 (a never-written chunked dataset is 2 KB)
    if (n > static_cast<hsize_t>(INT64_MAX) || __builtin_mul_overflow(d.elements, static_cast<int64_t>(n), &d.elements))
      f.fail(key, "shape " + join_dims(d.dims) + ": more values than can be counted");
  d.cls = H5Tget_class(d.type.get());
  d.dtype = dtype_name(d.type.get());
  return d;
}

void require_numeric(const File& f, const std::string& key, const Dataset& d, bool allow_bool) {
  const bool ok = d.cls == H5T_FLOAT || d.cls == H5T_INTEGER || (allow_bool && d.cls == H5T_ENUM);
  if (!ok) f.fail(key, "dtype " + d.dtype + ", expected numeric data");
}

void read_into(const File& f, const std::string& key, const Dataset& d, hid_t mem_type, void* buffer) {
  if (d.elements == 0) return;
  if (H5Dread(d.dset.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer) < 0)
    f.fail(key, "read failed (file truncated or corrupt?)");
}

template <typename T>
hid_t native_type();
template <>
hid_t native_type<float>() {
  return H5T_NATIVE_FLOAT;
}
template <>
hid_t native_type<double>() {
  return H5T_NATIVE_DOUBLE;
}

// Values must be finite, and small enough that float arithmetic can square them: past
// 2^64 (about the square root of float's largest value, 3.4e38) a variance, a norm or
// a LayerNorm overflows to inf, and training reaches NaN at its first update (a reward
// of 1e30 did). No state, action or reward of an RL dataset comes near it.
constexpr double kLargestMagnitude = 18446744073709551616.0;  // 2^64

template <typename T>
void require_finite(const File& f, const std::string& key, const std::vector<T>& v, int64_t row_width) {
  auto row = [&](size_t i) { return std::to_string(static_cast<int64_t>(i) / std::max<int64_t>(row_width, 1)); };
  for (size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i])) {
      f.fail(key, std::string(std::isnan(v[i]) ? "NaN" : "inf") + " at row " + row(i) + ", expected finite values");
    } else if (std::abs(static_cast<double>(v[i])) >= kLargestMagnitude) {
      std::ostringstream value;
      value << static_cast<double>(v[i]);
      f.fail(key, value.str() + " at row " + row(i) +
                      ", expected values within +-2^64 (1.8e19; float arithmetic overflows squaring them)");
    }
}

// The row count of `key` must be `expected`: the length of observations (D4RL), or one
// less within a Minari episode, whose observations hold T+1 rows for T steps.
void require_rows(const File& f, const std::string& key, int64_t rows, int64_t expected) {
  const bool minari_episode = key.rfind("episode_", 0) == 0;
  if (rows != expected)
    f.fail(key, "has " + std::to_string(rows) + " rows, expected " + std::to_string(expected) +
                    (minari_episode ? " (one per step: the episode's observations hold one row more)"
                                    : " (the length of 'observations')"));
}

// A column (N,) or (N, 1) of `expected_rows` numbers; returns N.
int64_t require_column(const File& f, const std::string& key, const Dataset& d, int64_t expected_rows,
                       const char* expected_shape) {
  if (!(d.dims.size() == 1 || (d.dims.size() == 2 && d.dims[1] == 1)))
    f.fail(key, "shape " + join_dims(d.dims) + ", expected " + expected_shape);
  const auto rows = static_cast<int64_t>(d.dims[0]);
  require_rows(f, key, rows, expected_rows);
  return rows;
}

// "12884901888 bytes (12.0 GiB)": the exact count, and one a reader takes in.
std::string bytes_text(int64_t bytes) {
  char gib[32];
  std::snprintf(gib, sizeof gib, "%.1f", static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0));
  return std::to_string(bytes) + " bytes (" + gib + " GiB)";
}

// Room for a dataset's `rows` x `cols` values. A file may declare any shape (a chunked
// dataset of 2^33 x 2^31 that holds no data takes 2 KB): a count that overflows, or
// memory this process cannot be given, is the file's error, named, not a crash. The
// request is checked against the memory free now (base/free_memory.h) before it is
// made: under Linux's default overcommit a request beyond it would succeed, and the
// reader be killed without a word once the values are written.
template <typename T>
std::vector<T> room_for(const File& f, const std::string& key, const std::vector<hsize_t>& dims, int64_t rows,
                        int64_t cols) {
  int64_t count = 0, bytes = 0;
  if (rows < 0 || cols < 0 || __builtin_mul_overflow(rows, cols, &count) ||
      __builtin_mul_overflow(count, int64_t{sizeof(T)}, &bytes))
    f.fail(key, "shape " + join_dims(dims) + ": more values than can be counted");
  // The free memory is read (a few /proc and cgroup files) only for requests that could
  // matter: a Minari file asks once per episode and key, mostly for a few KB.
  constexpr int64_t kBytesWorthChecking = int64_t{16} << 20;
  const char* skip = std::getenv("AAREN_SKIP_MEMORY_CHECK");  // where the kernel's estimate is wrong (a ZFS cache)
  const bool check = bytes >= kBytesWorthChecking && !(skip && std::string(skip) == "1");
  const auto free_now = check ? base::memory_this_process_can_get() : std::nullopt;
  if (free_now && bytes > *free_now)
    f.fail(key, "shape " + join_dims(dims) + ": " + bytes_text(bytes) + " to read, more than the " +
                    bytes_text(*free_now) + " of memory free now (AAREN_SKIP_MEMORY_CHECK=1 reads it anyway)");
  try {
    return std::vector<T>(static_cast<size_t>(count));
  } catch (const std::bad_alloc&) {
  } catch (const std::length_error&) {
  }
  f.fail(key, "shape " + join_dims(dims) + ": " + bytes_text(bytes) + ", more than this machine can hold");
}

// A numeric 2-D array (rows, cols) converted to T. expected_rows < 0: any.
// With allow_vector, a 1-D (rows,) array is read as (rows, 1).
template <typename T>
std::vector<T> read_matrix(const File& f, const std::string& key, int64_t expected_rows, int64_t& cols,
                           std::map<std::string, std::string>& dtypes, bool allow_vector = false) {
  auto d = open_dataset(f, key);
  require_numeric(f, key, d, false);
  if (d.dims.size() == 1 && allow_vector) {
    cols = 1;
  } else if (d.dims.size() == 2) {
    cols = static_cast<int64_t>(d.dims[1]);
  } else {
    f.fail(key, "shape " + join_dims(d.dims) + ", expected rank 2 (rows, dim)");
  }
  const auto rows = static_cast<int64_t>(d.dims[0]);
  if (rows == 0) f.fail(key, "has no rows");
  if (cols == 0) f.fail(key, "shape " + join_dims(d.dims) + ", expected a non-zero width");
  if (expected_rows >= 0) require_rows(f, key, rows, expected_rows);
  auto out = room_for<T>(f, key, d.dims, rows, cols);
  read_into(f, key, d, native_type<T>(), out.data());
  require_finite(f, key, out, cols);
  dtypes[key] = d.dtype;
  return out;
}

// A 1-D vector of N values; (N, 1) accepted too.
std::vector<float> read_vector(const File& f, const std::string& key, int64_t expected_rows,
                               std::map<std::string, std::string>& dtypes) {
  auto d = open_dataset(f, key);
  require_numeric(f, key, d, false);
  const int64_t rows = require_column(f, key, d, expected_rows, "(N,) or (N, 1)");
  auto out = room_for<float>(f, key, d.dims, rows, 1);
  read_into(f, key, d, H5T_NATIVE_FLOAT, out.data());
  require_finite(f, key, out, 1);
  dtypes[key] = d.dtype;
  return out;
}

// Flags: HDF5 bool enum, any integer or float; nonzero = true.
std::vector<uint8_t> read_flags(const File& f, const std::string& key, int64_t expected_rows,
                                std::map<std::string, std::string>& dtypes) {
  auto d = open_dataset(f, key);
  require_numeric(f, key, d, true);
  const int64_t rows = require_column(f, key, d, expected_rows, "(N,)");
  auto out = room_for<uint8_t>(f, key, d.dims, rows, 1);
  if (d.cls == H5T_ENUM) {
    // Read the raw enum values through the native version of the file type.
    Handle mem(H5Tget_native_type(d.type.get(), H5T_DIR_ASCEND), H5Tclose);
    const size_t width = H5Tget_size(mem.get());
    auto raw = room_for<unsigned char>(f, key, d.dims, rows, static_cast<int64_t>(width));
    read_into(f, key, d, mem.get(), raw.data());
    for (int64_t i = 0; i < rows; ++i) {
      bool nonzero = false;
      for (size_t b = 0; b < width; ++b) nonzero |= raw[i * width + b] != 0;
      out[i] = nonzero;
    }
  } else {
    auto values = room_for<double>(f, key, d.dims, rows, 1);
    read_into(f, key, d, H5T_NATIVE_DOUBLE, values.data());
    for (int64_t i = 0; i < rows; ++i) {
      if (std::isnan(values[i])) f.fail(key, "NaN at row " + std::to_string(i) + ", expected 0/1 flags");
      out[i] = values[i] != 0.0;
    }
  }
  dtypes[key] = d.dtype;
  return out;
}

// Text of a small scalar (or short 1-D) dataset; nullopt if unreadable.
std::optional<std::string> read_small_as_text(const File& f, const std::string& key) {
  Dataset d;
  try {
    d = open_dataset(f, key);
  } catch (const DataError&) {
    return std::nullopt;
  }
  if (d.elements > 16) return "<array " + join_dims(d.dims) + " " + d.dtype + ">";
  if (d.cls == H5T_STRING) {
    if (d.elements != 1) return "<strings>";
    if (H5Tis_variable_str(d.type.get()) > 0) {
      Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
      H5Tset_size(mem.get(), H5T_VARIABLE);
      H5Tset_cset(mem.get(), H5Tget_cset(d.type.get()));
      char* text = nullptr;
      if (H5Dread(d.dset.get(), mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &text) < 0) return std::nullopt;
      std::string s = text ? text : "";
      H5Dvlen_reclaim(mem.get(), d.space.get(), H5P_DEFAULT, &text);
      return s;
    }
    const size_t size = H5Tget_size(d.type.get());
    if (size == 0 || size > (1u << 20)) return std::nullopt;  // a damaged size: not worth 1 MB of text
    std::string s(size + 1, '\0');
    Handle mem(H5Tcopy(d.type.get()), H5Tclose);
    if (H5Dread(d.dset.get(), mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, s.data()) < 0) return std::nullopt;
    s.resize(std::strlen(s.c_str()));
    return s;
  }
  if (d.cls == H5T_FLOAT || d.cls == H5T_INTEGER || d.cls == H5T_ENUM) {
    if (d.cls == H5T_ENUM) return "<enum>";
    std::vector<double> v(static_cast<size_t>(std::max<int64_t>(d.elements, 1)));
    if (H5Dread(d.dset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) < 0) return std::nullopt;
    std::ostringstream os;
    os.precision(10);
    if (d.dims.empty()) {
      os << v[0];
    } else {
      os << "[";
      for (size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
      os << "]";
    }
    return os.str();
  }
  return "<" + d.dtype + ">";
}

// Every dataset below `group` (recursively), as "group/sub/name" -> text.
// A damaged file can hold a link that leads back to one of its own parents
// (the group then seems to contain itself) or a huge fan-out, so the walk
// remembers the object addresses it has entered and stops at a depth and an
// entry count; what it cannot read becomes a warning, not an error, because
// metadata is optional.
struct MetadataWalk {
  static constexpr int kMaxDepth = 8;
  static constexpr size_t kMaxEntries = 4096;
  std::set<std::pair<unsigned long, haddr_t>> entered;
  size_t entries = 0;
  std::vector<std::string>* warnings = nullptr;
  void warn(const File& f, const std::string& key, const std::string& what) {
    if (warnings->size() < 8) warnings->push_back(f.path() + ": key '" + key + "': " + what);
  }
};

void read_metadata(const File& f, const std::string& group, std::map<std::string, std::string>& out, MetadataWalk& walk,
                   int depth = 0) {
  if (!f.exists(group)) return;
  Handle g(H5Gopen2(f.id(), group.c_str(), H5P_DEFAULT), H5Gclose);
  if (!g.valid()) {
    if (depth == 0 && !f.is_group(group))
      walk.warn(f, group, "is not a group: ignored");
    else
      walk.warn(f, group, "cannot open the group (corrupt?): ignored");
    return;
  }
  H5O_info_t info;
  if (H5Oget_info2(g.get(), &info, H5O_INFO_BASIC) < 0) return walk.warn(f, group, "unreadable group header: ignored");
  if (!walk.entered.insert({info.fileno, info.addr}).second)
    return walk.warn(f, group, "links back to a group it is inside (a damaged link?): not followed");
  if (depth > MetadataWalk::kMaxDepth) return walk.warn(f, group, "nested too deep: not read");
  std::vector<std::string> names;
  if (!list_children(g.get(), names, MetadataWalk::kMaxEntries))
    walk.warn(f, group, "cannot list the group (corrupt?): partly read");
  for (const auto& name : names) {
    if (++walk.entries > MetadataWalk::kMaxEntries) return walk.warn(f, group, "too many entries: the rest not read");
    const std::string key = group + "/" + name;
    Handle obj(H5Oopen(f.id(), key.c_str(), H5P_DEFAULT), H5Oclose);
    if (!obj.valid()) {
      walk.warn(f, key, "cannot open (corrupt?): ignored");
      continue;
    }
    const auto type = H5Iget_type(obj.get());
    obj = Handle();
    if (type == H5I_GROUP) {
      read_metadata(f, key, out, walk, depth + 1);
    } else {
      auto text = read_small_as_text(f, key);
      if (!text)
        walk.warn(f, key, "unreadable value: ignored");
      else
        out[key.substr(std::string("metadata/").size())] = *text;
    }
  }
}

}  // namespace

void Transitions::check_consistent(const std::string& origin) const {
  auto fail = [&](const std::string& what) { throw DataError(origin + ": " + what); };
  const auto N = static_cast<size_t>(size);
  if (size <= 0) fail("no transitions");
  if (observations.size() != N * obs_dim) fail("observations do not match N x obs_dim");
  if (actions.size() != N * act_dim) fail("actions do not match N x act_dim");
  if (rewards.size() != N || terminals.size() != N || timeouts.size() != N)
    fail("rewards/terminals/timeouts do not have N rows");
  if (!next_observations.empty() && next_observations.size() != N * obs_dim)
    fail("next_observations do not match N x obs_dim");
  if (!qpos.empty() && qpos.size() != N * nq) fail("infos/qpos does not match N x nq");
  if (!qvel.empty() && qvel.size() != N * nv) fail("infos/qvel does not match N x nv");
  if (!qacc_warmstart.empty() && qacc_warmstart.size() != N * nv) fail("infos/qacc_warmstart does not match N x nv");
}

namespace {

// Feeds `key`'s values to `digest` in the file's row order, `block_bytes` of rows
// at a time (a hyperslab per block): the digest of the whole array's bytes,
// with no buffer the size of the array.
void hash_rows(const File& f, const std::string& key, hsize_t block_bytes, base::Sha256& digest) {
  const auto d = open_dataset(f, key);
  // The stored type in this machine's byte order: what h5py's tobytes() gives on x86-64.
  const Handle memory_type(H5Tget_native_type(d.type.get(), H5T_DIR_ASCEND), H5Tclose);
  if (!memory_type.valid()) f.fail(key, "cannot map its dtype " + d.dtype + " to memory");
  if (d.elements == 0) return;
  const auto rows = d.dims.empty() ? hsize_t{1} : d.dims[0];
  int64_t row_bytes = 0;
  if (__builtin_mul_overflow(d.elements / static_cast<int64_t>(rows),
                             static_cast<int64_t>(H5Tget_size(memory_type.get())), &row_bytes))
    f.fail(key, "shape " + join_dims(d.dims) + ": more bytes in a row than can be counted");
  const auto row_size = static_cast<hsize_t>(std::max<int64_t>(row_bytes, 1));
  const hsize_t block_rows = std::max<hsize_t>(1, block_bytes / row_size);
  auto buffer = room_for<unsigned char>(f, key, d.dims, static_cast<int64_t>(std::min(block_rows, rows)), row_bytes);
  if (d.dims.empty()) {  // a scalar: one value
    read_into(f, key, d, memory_type.get(), buffer.data());
    digest.update(buffer.data(), static_cast<size_t>(row_bytes));
    return;
  }
  for (hsize_t first = 0; first < rows; first += block_rows) {
    const hsize_t n = std::min(block_rows, rows - first);
    std::vector<hsize_t> start(d.dims.size(), 0), count(d.dims);
    start[0] = first, count[0] = n;
    Handle file_space(H5Scopy(d.space.get()), H5Sclose);
    Handle memory_space(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), H5Sclose);
    if (!file_space.valid() || !memory_space.valid() ||
        H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr) < 0 ||
        H5Dread(d.dset.get(), memory_type.get(), memory_space.get(), file_space.get(), H5P_DEFAULT, buffer.data()) < 0)
      f.fail(key, "read failed (file truncated or corrupt?)");
    digest.update(buffer.data(), static_cast<size_t>(n * row_size));
  }
}

}  // namespace

std::string d4rl_arrays_sha256(const std::string& path, int64_t block_bytes) {
  const File f(path);
  if (!f.exists("observations")) f.fail("observations", "missing: not a D4RL-layout file");
  base::Sha256 digest;
  for (const std::string key : {"observations", "actions", "rewards", "terminals", "timeouts", "next_observations"}) {
    if (!f.exists(key)) continue;
    digest.update(key.data(), key.size());
    hash_rows(f, key, static_cast<hsize_t>(std::max<int64_t>(block_bytes, 1)), digest);
  }
  return digest.hex();
}

std::vector<float> read_actions(const std::string& path, int64_t& act_dim) {
  File f(path);
  std::map<std::string, std::string> dtypes;
  return read_matrix<float>(f, "actions", -1, act_dim, dtypes);
}

Transitions read_d4rl(const std::string& path) {
  File f(path);
  Transitions t;
  auto& dt = t.dtypes;
  int64_t cols = 0;
  t.observations = read_matrix<float>(f, "observations", -1, t.obs_dim, dt);
  t.size = static_cast<int64_t>(t.observations.size()) / t.obs_dim;
  t.actions = read_matrix<float>(f, "actions", t.size, t.act_dim, dt);
  t.rewards = read_vector(f, "rewards", t.size, dt);
  t.terminals = read_flags(f, "terminals", t.size, dt);
  if (f.exists("timeouts")) {
    t.timeouts = read_flags(f, "timeouts", t.size, dt);
    t.has_timeouts = true;
  } else {
    t.timeouts.assign(static_cast<size_t>(t.size), 0);
  }
  if (f.exists("next_observations")) {
    t.next_observations = read_matrix<float>(f, "next_observations", t.size, cols, dt);
    if (cols != t.obs_dim)
      f.fail("next_observations", "width " + std::to_string(cols) + ", expected " + std::to_string(t.obs_dim) +
                                      " (the width of 'observations')");
  }
  if (f.exists("infos/qpos")) t.qpos = read_matrix<double>(f, "infos/qpos", t.size, t.nq, dt);
  if (f.exists("infos/qvel")) t.qvel = read_matrix<double>(f, "infos/qvel", t.size, t.nv, dt);
  if (f.exists("infos/qacc_warmstart")) {
    int64_t width = 0;
    t.qacc_warmstart = read_matrix<double>(f, "infos/qacc_warmstart", t.size, width, dt);
    if (width != t.nv)
      f.fail("infos/qacc_warmstart", "width " + std::to_string(width) + ", expected nv = " + std::to_string(t.nv));
  }
  MetadataWalk walk;
  walk.warnings = &t.warnings;
  read_metadata(f, "metadata", t.metadata, walk);
  return t;
}

namespace {

// The root group's scalar string attributes, as name -> text.
herr_t collect_string_attribute(hid_t location, const char* name, const H5A_info_t*, void* out) {
  auto& metadata = *static_cast<std::map<std::string, std::string>*>(out);
  const hid_t attribute = H5Aopen(location, name, H5P_DEFAULT);
  if (attribute < 0) return 0;
  const hid_t type = H5Aget_type(attribute), space = H5Aget_space(attribute);
  if (type >= 0 && space >= 0 && H5Tget_class(type) == H5T_STRING && H5Sget_simple_extent_npoints(space) == 1) {
    if (H5Tis_variable_str(type) > 0) {
      char* text = nullptr;
      const hid_t memory = H5Tget_native_type(type, H5T_DIR_ASCEND);
      if (H5Aread(attribute, memory, &text) >= 0 && text) metadata[name] = text;
      if (text) H5free_memory(text);
      H5Tclose(memory);
    } else {
      std::string text(H5Tget_size(type), '\0');
      if (H5Aread(attribute, type, text.data()) >= 0) metadata[name] = text.c_str();
    }
  }
  if (space >= 0) H5Sclose(space);
  if (type >= 0) H5Tclose(type);
  H5Aclose(attribute);
  return 0;
}

// Minari's metadata: root attributes (Minari <= 0.4) and metadata.json.
void read_minari_metadata(const File& f, const std::string& path, std::map<std::string, std::string>& metadata) {
  hsize_t index = 0;
  H5Aiterate2(f.id(), H5_INDEX_NAME, H5_ITER_INC, &index, collect_string_attribute, &metadata);
  for (const auto& [key, value] :
       read_minari_metadata_json(std::filesystem::path(path).parent_path() / "metadata.json"))
    metadata[key] = value;
}

}  // namespace

std::map<std::string, std::string> read_minari_metadata_json(const std::filesystem::path& json_path) {
  std::map<std::string, std::string> metadata;
  std::ifstream in(json_path);
  if (!in) return metadata;
  const auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return metadata;  // damaged metadata is skipped: the transitions are what matter
  for (const auto& [key, value] : j.items())
    metadata[key] = value.is_string() ? value.get<std::string>() : value.dump();
  const auto spec = metadata.find("env_spec");
  if (spec != metadata.end()) {
    const auto e = nlohmann::json::parse(spec->second, nullptr, /*allow_exceptions=*/false);
    if (e.is_object() && e.contains("id") && e["id"].is_string()) metadata["env_id"] = e["id"].get<std::string>();
  }
  return metadata;
}

Transitions read_minari(const std::string& path_in) {
  std::string path = path_in;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    const auto inner = std::filesystem::path(path) / "data" / "main_data.hdf5";
    const auto flat = std::filesystem::path(path) / "main_data.hdf5";
    if (!std::filesystem::exists(inner, ec) && !std::filesystem::exists(flat, ec))
      throw DataError(path +
                      ": is a directory without data/main_data.hdf5 (expected a D4RL .hdf5 file or a Minari "
                      "dataset folder)");
    path = std::filesystem::exists(inner, ec) ? inner.string() : flat.string();
  }
  File f(path);
  // Episode groups, in numeric id order.
  std::vector<std::pair<int64_t, std::string>> groups;
  {
    std::vector<std::string> names;
    if (!list_children(f.id(), names)) f.fail("cannot list the root group (corrupt?)");
    for (const auto& n : names) {
      if (n.rfind("episode_", 0) != 0) continue;
      try {
        groups.emplace_back(std::stoll(n.substr(8)), n);
      } catch (const std::exception&) {
        f.fail(n, "episode group name without a numeric id");
      }
    }
  }
  if (groups.empty()) f.fail("no episode_<id> groups, expected the Minari layout");
  std::sort(groups.begin(), groups.end());

  Transitions t;
  t.has_timeouts = true;  // Minari always has truncations
  for (const auto& [id, g] : groups) {
    int64_t obs_dim = 0, act_dim = 0;
    std::map<std::string, std::string> dt;
    if (f.is_group(g + "/observations"))
      f.fail(g + "/observations", "is a group (dict observation space), expected a (T+1, dim) array");
    auto obs = read_matrix<float>(f, g + "/observations", -1, obs_dim, dt);
    const int64_t T = static_cast<int64_t>(obs.size()) / obs_dim - 1;
    if (T < 1) f.fail(g + "/observations", "has fewer than 2 rows, expected T+1 rows for T >= 1 steps");
    auto act = read_matrix<float>(f, g + "/actions", T, act_dim, dt, /*allow_vector=*/true);
    auto rew = read_vector(f, g + "/rewards", T, dt);
    auto term = read_flags(f, g + "/terminations", T, dt);
    auto trunc = read_flags(f, g + "/truncations", T, dt);
    if (t.size == 0) {
      t.obs_dim = obs_dim, t.act_dim = act_dim;
      for (const auto& [k, v] : dt) t.dtypes[k.substr(g.size() + 1)] = v;
    } else if (obs_dim != t.obs_dim || act_dim != t.act_dim) {
      f.fail(g, "observation/action widths " + std::to_string(obs_dim) + "/" + std::to_string(act_dim) +
                    " differ from the first episode's " + std::to_string(t.obs_dim) + "/" + std::to_string(t.act_dim));
    }
    t.episode_starts.push_back(t.size);
    t.observations.insert(t.observations.end(), obs.begin(), obs.end() - obs_dim);
    t.next_observations.insert(t.next_observations.end(), obs.begin() + obs_dim, obs.end());
    t.actions.insert(t.actions.end(), act.begin(), act.end());
    t.rewards.insert(t.rewards.end(), rew.begin(), rew.end());
    t.terminals.insert(t.terminals.end(), term.begin(), term.end());
    t.timeouts.insert(t.timeouts.end(), trunc.begin(), trunc.end());
    t.size += T;
  }
  // Dataset-level metadata: the root's string attributes (Minari <= 0.4
  // writes them there) and data/metadata.json beside the file (later Minari).
  read_minari_metadata(f, path, t.metadata);
  t.metadata["format"] = "minari";
  return t;
}

Transitions read_dataset(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return read_minari(path);
  {
    File f(path);
    if (!f.exists("observations")) {
      // Minari files have episode_* groups at the root instead.
      std::vector<std::string> names;
      list_children(f.id(), names);
      for (const auto& n : names)
        if (n.rfind("episode_", 0) == 0) return read_minari(path);
    }
  }
  return read_d4rl(path);
}

// ------------------------------------------------------------------ writer --

namespace {

void write_array(const File& f, const std::string& key, hid_t file_type, hid_t mem_type, const void* data,
                 const std::vector<hsize_t>& dims, const WriteOptions& opt) {
  Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  std::vector<hsize_t> chunk = dims;
  chunk[0] = std::max<hsize_t>(1, std::min<hsize_t>(dims[0], static_cast<hsize_t>(opt.chunk_rows)));
  if (dims[0] > 0) {
    H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data());
    if (opt.gzip_level > 0) H5Pset_deflate(dcpl.get(), static_cast<unsigned>(opt.gzip_level));
  }
  Handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  Handle dset(H5Dcreate2(f.id(), key.c_str(), file_type, space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT), H5Dclose);
  if (!dset.valid()) f.fail(key, "cannot create the dataset");
  if (dims[0] > 0 && H5Dwrite(dset.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
    f.fail(key, "write failed (disk full?)");
}

// A fixed-length UTF-8 string: stored in the dataset itself. Variable-length
// strings live in the global heap, which has no checksum; a damaged global
// heap can crash or stall libhdf5 when it is read.
void write_string(const File& f, const std::string& key, const std::string& value) {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), std::max<size_t>(value.size(), 1));
  H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  Handle dset(H5Dcreate2(f.id(), key.c_str(), type.get(), space.get(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT), H5Dclose);
  if (!dset.valid()) f.fail(key, "cannot create the dataset");
  std::string padded = value;
  padded.resize(std::max<size_t>(value.size(), 1), '\0');
  if (H5Dwrite(dset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, padded.data()) < 0) f.fail(key, "write failed");
}

// The D4RL v2 layout into `tmp` (renamed into place by write_d4rl).
void write_d4rl_file(const std::string& tmp, const Transitions& t, const WriteOptions& opt) {
  {
    File f(tmp, /*write=*/true);
    const auto N = static_cast<hsize_t>(t.size);
    write_array(f, "observations", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, t.observations.data(),
                {N, static_cast<hsize_t>(t.obs_dim)}, opt);
    write_array(f, "actions", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, t.actions.data(), {N, static_cast<hsize_t>(t.act_dim)},
                opt);
    write_array(f, "rewards", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, t.rewards.data(), {N}, opt);
    // numpy/h5py booleans: an int8 enum {FALSE = 0, TRUE = 1}.
    Handle bool_type(H5Tenum_create(H5T_NATIVE_INT8), H5Tclose);
    int8_t no = 0, yes = 1;
    H5Tenum_insert(bool_type.get(), "FALSE", &no);
    H5Tenum_insert(bool_type.get(), "TRUE", &yes);
    write_array(f, "terminals", bool_type.get(), bool_type.get(), t.terminals.data(), {N}, opt);
    write_array(f, "timeouts", bool_type.get(), bool_type.get(), t.timeouts.data(), {N}, opt);
    if (!t.next_observations.empty())
      write_array(f, "next_observations", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, t.next_observations.data(),
                  {N, static_cast<hsize_t>(t.obs_dim)}, opt);
    if (!t.qpos.empty())
      write_array(f, "infos/qpos", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, t.qpos.data(), {N, static_cast<hsize_t>(t.nq)},
                  opt);
    if (!t.qacc_warmstart.empty())
      write_array(f, "infos/qacc_warmstart", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, t.qacc_warmstart.data(),
                  {N, static_cast<hsize_t>(t.nv)}, opt);
    if (!t.qvel.empty())
      write_array(f, "infos/qvel", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, t.qvel.data(), {N, static_cast<hsize_t>(t.nv)},
                  opt);
    for (const auto& [key, value] : t.metadata) write_string(f, "metadata/" + key, value);
    if (H5Fflush(f.id(), H5F_SCOPE_GLOBAL) < 0) f.fail("flush failed (disk full?)");
  }
}
}  // namespace

void write_d4rl(const std::string& path, const Transitions& t, const WriteOptions& opt) {
  t.check_consistent(path);
  try {
    base::write_through_temp_file(path, [&](const std::string& tmp) { write_d4rl_file(tmp, t, opt); });
  } catch (const base::FileWriteError& e) {
    throw DataError(e.what());
  }
}

std::string hdf5_library_version() {
  unsigned major = 0, minor = 0, release = 0;
  H5get_libversion(&major, &minor, &release);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(release);
}

}  // namespace aaren::data
