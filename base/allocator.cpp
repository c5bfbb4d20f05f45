#include "base/allocator.h"

#include <cstdlib>
#include <sstream>
#include <string>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace aaren::base {

namespace {
std::vector<std::string> g_set_here;  // what keep_freed_memory_for_reuse set in this process

// AAREN_DEFAULT_MALLOC=1: glibc's own settings (scripts/bench-allocator.sh).
bool glibc_defaults_asked() {
  const char* keep_defaults = std::getenv("AAREN_DEFAULT_MALLOC");
  return keep_defaults != nullptr && std::string(keep_defaults) == "1";
}

// Whether the user chose this setting: its environment variable (even empty), or
// its tunable in GLIBC_TUNABLES (glibc >= 2.26; glibc manual, "Memory
// Allocation Tunables"), both read by glibc at start; mallopt(3) would override them.
bool chosen_by_user(const std::string& variable, const std::string& tunable) {
  if (std::getenv(variable.c_str()) != nullptr) return true;
  const char* tunables = std::getenv("GLIBC_TUNABLES");  // name=value pairs separated by ':'
  if (tunables == nullptr) return false;
  const std::string list = std::string(":") + tunables;
  return list.find(":glibc.malloc." + tunable + "=") != std::string::npos;
}
}  // namespace

std::vector<std::string> keep_freed_memory_for_reuse() {
  std::vector<std::string>& set = g_set_here;
  set.clear();
#if defined(__GLIBC__)
  if (glibc_defaults_asked()) return set;
  constexpr int kMiB = 1 << 20;
  struct Setting {
    const char* variable;
    const char* tunable;
    int parameter;
    int value;
  };
  for (const Setting& s : {Setting{"MALLOC_MMAP_THRESHOLD_", "mmap_threshold", M_MMAP_THRESHOLD, 32 * kMiB},
                           Setting{"MALLOC_TRIM_THRESHOLD_", "trim_threshold", M_TRIM_THRESHOLD, 1024 * kMiB},
                           Setting{"MALLOC_TOP_PAD_", "top_pad", M_TOP_PAD, 256 * kMiB}})
    if (!chosen_by_user(s.variable, s.tunable) && mallopt(s.parameter, s.value) == 1) set.emplace_back(s.variable);
#endif
  return set;
}

std::string allocator_setting() {
#if defined(__GLIBC__)
  if (g_set_here.empty() && glibc_defaults_asked()) return "glibc's defaults (AAREN_DEFAULT_MALLOC=1)";
  if (g_set_here.size() == 3) return "kept for reuse";
  std::string users;  // the user's own: glibc's variables, and the malloc entries of GLIBC_TUNABLES
  const auto add = [&users](const std::string& setting) { users += (users.empty() ? "" : " ") + setting; };
  for (const char* variable : {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_"})
    if (const char* value = std::getenv(variable)) add(std::string(variable) + "=" + value);
  if (const char* tunables = std::getenv("GLIBC_TUNABLES")) {
    std::stringstream list(tunables);
    for (std::string entry; std::getline(list, entry, ':');)
      if (entry.rfind("glibc.malloc.", 0) == 0) add(entry);
  }
  if (g_set_here.empty()) return users.empty() ? "glibc's defaults" : "the user's: " + users;
  std::string set;
  for (const auto& variable : g_set_here) set += (set.empty() ? "" : ", ") + variable;
  return "kept for reuse (" + set + "), the user's: " + users;
#else
  return "the C library's";
#endif
}

}  // namespace aaren::base
