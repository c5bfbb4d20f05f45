// A configuration struct's fields, each described once: its command-line
// name, JSON key, help text, and whether a resumed run may change it. From
// that one table come the command-line options (apps/config_options.h), the
// JSON a run saves next to its outputs and in its checkpoints, reading that
// JSON back (with the value older files imply for fields they predate), and
// which fields a resumed run takes from the command line.
//
// Values are parsed strictly: "--seed -1" or "--updates 1e3x" are errors,
// never a wrapped or truncated number. Enum fields are spelled by name: an
// enum type E takes part through two functions found by argument-dependent
// lookup, `const char* to_string(E)` and `const std::vector<E>& all_values(E)`.
#pragma once

#include <nlohmann/json.hpp>

#include "base/numbers.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace aaren::base {

// Parses command-line text as a T; throws std::invalid_argument saying what
// was expected.
template <class T>
T parse_value(const std::string& text);

template <>
inline std::string parse_value<std::string>(const std::string& text) {
  return text;
}

template <>
inline bool parse_value<bool>(const std::string& text) {
  if (text == "1" || text == "true" || text == "yes" || text == "on") return true;
  if (text == "0" || text == "false" || text == "no" || text == "off") return false;
  throw std::invalid_argument("expected 1 or 0 (true or false)");
}

template <>
inline double parse_value<double>(const std::string& text) {
  double v = 0;
  if (!parse_real(text, v)) throw std::invalid_argument("expected a finite number");
  return v;
}

template <>
inline float parse_value<float>(const std::string& text) {
  const double v = parse_value<double>(text);
  if (std::abs(v) > std::numeric_limits<float>::max()) throw std::invalid_argument("expected a finite number");
  return static_cast<float>(v);
}

namespace detail {
template <class T>
T parse_integer(const std::string& text) {
  const bool negative = !text.empty() && text[0] == '-';
  // Not a whole number at all, or one outside what the setting holds (only then is the range worth saying:
  // a count's own limits, such as > 0, are its config's to check and name).
  auto fail = [&](bool out_of_range = false) {
    const std::string what = std::is_unsigned<T>::value ? "expected a non-negative integer" : "expected an integer";
    if (!out_of_range) throw std::invalid_argument(what);
    throw std::invalid_argument(what + " from " + std::to_string(std::numeric_limits<T>::lowest()) + " to " +
                                std::to_string(std::numeric_limits<T>::max()) + ", got one outside it");
  };
  const size_t digits_from = (negative || (!text.empty() && text[0] == '+')) ? 1 : 0;
  if (text.size() <= digits_from || !std::isdigit(static_cast<unsigned char>(text[digits_from])) ||
      (negative && std::is_unsigned<T>::value))
    fail();
  errno = 0;
  char* end = nullptr;
  if (negative) {
    const long long v = std::strtoll(text.c_str(), &end, 10);
    if (end != text.c_str() + text.size()) fail();
    if (errno == ERANGE || v < static_cast<long long>(std::numeric_limits<T>::lowest())) fail(true);
    return static_cast<T>(v);
  }
  const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (end != text.c_str() + text.size()) fail();
  if (errno == ERANGE || v > static_cast<unsigned long long>(std::numeric_limits<T>::max())) fail(true);
  return static_cast<T>(v);
}

// "a", "a or b", "a, b or c".
template <class E>
std::string names_of() {
  const auto& values = all_values(E{});
  std::string out;
  for (size_t i = 0; i < values.size(); ++i)
    out += (i == 0 ? "" : i + 1 == values.size() ? " or " : ", ") + std::string(to_string(values[i]));
  return out;
}
}  // namespace detail

template <>
inline int parse_value<int>(const std::string& text) {
  return detail::parse_integer<int>(text);
}
template <>
inline int64_t parse_value<int64_t>(const std::string& text) {
  return detail::parse_integer<int64_t>(text);
}
template <>
inline uint64_t parse_value<uint64_t>(const std::string& text) {
  return detail::parse_integer<uint64_t>(text);
}

// An enum by name; throws std::invalid_argument listing the names.
template <class E>
E parse_enum(const std::string& text) {
  for (E e : all_values(E{}))
    if (text == to_string(e)) return e;
  throw std::invalid_argument("must be " + detail::names_of<E>() + ", got '" + text + "'");
}

// What a field holds, for messages and range checks.
enum class FieldType { kText, kBool, kInteger, kUnsigned, kNumber, kEnum, kList };

// What a field's JSON value must be, for the error that names its key.
inline const char* expected_json(FieldType type) {
  static const char* const expected[] = {"a string",   "true or false",
                                         "an integer", "a non-negative integer",
                                         "a number",   "a string naming one of its values",
                                         "a list"};  // in FieldType's order
  return expected[static_cast<int>(type)];
}

template <class Config>
struct ConfigField {
  FieldType type = FieldType::kText;
  std::string flag;  // command-line name without "--", e.g. "embed-dim"
  std::string key;   // JSON key, e.g. "embed_dim"
  std::string help;
  bool on_resume = false;                // a resumed run takes this field from the command line
  bool is_switch = false;                // a bool given as a bare --flag (true when present)
  bool on_command_line = true;           // false: in the JSON only (a command spells it its own way)
  std::optional<nlohmann::json> legacy;  // its value in files written before the field existed
  std::function<nlohmann::json(const Config&)> get;
  std::function<void(Config&, const nlohmann::json&)> set_json;  // throws std::invalid_argument naming the key
                                                                 // (numbers, lists, enums), nlohmann's
                                                                 // type_error (a text or bool field)
  std::function<void(Config&, const std::string&)> set_text;     // throws std::invalid_argument; lists: items
                                                                 // separated by spaces
  std::vector<std::string> former_keys;  // what files written before the key was renamed call it
  std::string implicit;                  // the value of the bare --flag (empty: the flag needs a value)
  bool text_items = false;               // a list of text: each command-line word is one item, spaces kept
                                         // (--labels "Aaren, 100k" B); set through set_json

  // `field(...).formerly("n_layers")`: older files' name for this key, still read.
  ConfigField formerly(std::string key_before) && {
    former_keys.push_back(std::move(key_before));
    return std::move(*this);
  }
  // `field(...).implicitly("3")`: a bare --flag means --flag 3.
  ConfigField implicitly(std::string value) && {
    implicit = std::move(value);
    return std::move(*this);
  }
  bool answers_to(const std::string& k) const {
    return k == key || std::find(former_keys.begin(), former_keys.end(), k) != former_keys.end();
  }
};

// Options of one field beyond its name, member and help, in this order:
// {JSON key (empty: the flag with '-' -> '_'), may change on resume, legacy
// value, a bare --switch, on the command line}.
struct FieldOptions {
  FieldOptions(std::string key_ = "", bool on_resume_ = false, std::optional<nlohmann::json> legacy_ = std::nullopt,
               bool is_switch_ = false, bool on_command_line_ = true)
      : key(std::move(key_)),
        on_resume(on_resume_),
        legacy(std::move(legacy_)),
        is_switch(is_switch_),
        on_command_line(on_command_line_) {}
  std::string key;
  bool on_resume;
  std::optional<nlohmann::json> legacy;
  bool is_switch;
  bool on_command_line;
};

namespace detail {
template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};

template <class T>
FieldType field_type() {
  if constexpr (is_vector<T>::value) return FieldType::kList;
  if constexpr (std::is_enum<T>::value) return FieldType::kEnum;
  if constexpr (std::is_same<T, bool>::value) return FieldType::kBool;
  if constexpr (std::is_floating_point<T>::value) return FieldType::kNumber;
  if constexpr (std::is_integral<T>::value && std::is_unsigned<T>::value) return FieldType::kUnsigned;
  if constexpr (std::is_integral<T>::value) return FieldType::kInteger;
  return FieldType::kText;
}

// JSON for a value: enums by name; an infinite number as null (JSON has no infinity).
template <class T>
nlohmann::json to_json_value(const T& v) {
  if constexpr (std::is_enum<T>::value) {
    return nlohmann::json(to_string(v));
  } else if constexpr (std::is_floating_point<T>::value) {
    return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
  } else {
    return nlohmann::json(v);
  }
}

// A value of the wrong JSON type for a field of type T, in the words the
// config readers use for nlohmann's own type errors.
template <class T>
[[noreturn]] void wrong_json_type(const nlohmann::json& j, const std::string& key) {
  throw std::invalid_argument("'" + key + "' has the wrong type (" + j.dump() + "): expected " +
                              expected_json(field_type<T>()));
}

// An integer field reads only a JSON integer that fits: nlohmann's get<int>()
// would take 3.5 as 3, true as 1 and -1 as 2^64 - 1 for an unsigned field.
template <class T>
T integer_from_json(const nlohmann::json& j, const std::string& key) {
  // A negative value in an unsigned field is the wrong type ("expected a
  // non-negative integer"); a whole number too large for the field is out of range.
  const bool is_integer = j.is_number_integer();  // true also for number_unsigned
  if (!is_integer || (std::is_unsigned<T>::value && !j.is_number_unsigned() && j.get<std::int64_t>() < 0))
    wrong_json_type<T>(j, key);
  bool in_range;
  if (j.is_number_unsigned()) {
    in_range = j.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<T>::max());
  } else {
    const std::int64_t v = j.get<std::int64_t>();  // >= 0 here for an unsigned T
    in_range = std::is_unsigned<T>::value
                   ? static_cast<std::uint64_t>(v) <= static_cast<std::uint64_t>(std::numeric_limits<T>::max())
                   : v >= static_cast<std::int64_t>(std::numeric_limits<T>::min()) &&
                         v <= static_cast<std::int64_t>(std::numeric_limits<T>::max());
  }
  if (!in_range)
    throw std::invalid_argument("'" + key + "' is out of range (" + j.dump() + "): expected " +
                                std::to_string(std::numeric_limits<T>::min()) + " to " +
                                std::to_string(std::numeric_limits<T>::max()));
  return j.get<T>();
}

template <class T>
T from_json_value(const nlohmann::json& j, const std::string& key) {
  if constexpr (std::is_enum<T>::value) {
    try {
      return parse_enum<T>(j.get<std::string>());
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("'" + key + "': " + e.what());
    }
  } else if constexpr (std::is_floating_point<T>::value) {
    if (j.is_null()) return std::numeric_limits<T>::infinity();
    if (!j.is_number()) wrong_json_type<T>(j, key);  // nlohmann would read true as 1.0
    return j.get<T>();
  } else if constexpr (std::is_integral<T>::value && !std::is_same<T, bool>::value) {
    return integer_from_json<T>(j, key);
  } else if constexpr (is_vector<T>::value) {
    using Item = typename T::value_type;
    if constexpr (std::is_same<Item, std::string>::value) {
      return j.get<T>();
    } else {
      // Each item as a field of its own: "'eval_targets[1]' has the wrong type (true): expected a number".
      if (!j.is_array()) wrong_json_type<T>(j, key);
      T items;
      for (size_t i = 0; i < j.size(); ++i)
        items.push_back(from_json_value<Item>(j[i], key + "[" + std::to_string(i) + "]"));
      return items;
    }
  } else {
    return j.get<T>();
  }
}

template <class T>
T from_text(const std::string& text) {
  if constexpr (is_vector<T>::value) {
    T items;
    std::string item;
    for (size_t i = 0; i <= text.size(); ++i) {
      if (i == text.size() || text[i] == ' ') {
        if (!item.empty()) items.push_back(parse_value<typename T::value_type>(item));
        item.clear();
      } else {
        item += text[i];
      }
    }
    return items;
  } else if constexpr (std::is_enum<T>::value) {
    return parse_enum<T>(text);
  } else {
    return parse_value<T>(text);
  }
}
}  // namespace detail

// A field reached through `at` (for members of members: `[](C& c) -> auto& { return c.options.x; }`).
template <class Config, class At>
ConfigField<Config> field_at(const std::string& flag, At at, const std::string& help, FieldOptions options = {}) {
  using T = std::decay_t<decltype(at(std::declval<Config&>()))>;
  ConfigField<Config> f;
  f.type = detail::field_type<T>();
  f.flag = flag;
  f.key = options.key;
  if (f.key.empty())
    for (char c : flag) f.key += c == '-' ? '_' : c;
  f.help = help;
  f.on_resume = options.on_resume;
  f.legacy = options.legacy;
  f.is_switch = options.is_switch;
  f.on_command_line = options.on_command_line;
  f.text_items = std::is_same<T, std::vector<std::string>>::value;
  // get() reads through the same accessor; it does not modify the config.
  f.get = [at](const Config& c) { return detail::to_json_value<T>(at(const_cast<Config&>(c))); };
  f.set_json = [at, key = f.key](Config& c, const nlohmann::json& j) { at(c) = detail::from_json_value<T>(j, key); };
  f.set_text = [at](Config& c, const std::string& text) { at(c) = detail::from_text<T>(text); };
  return f;
}

template <class Config, class T>
ConfigField<Config> field(const std::string& flag, T Config::*member, const std::string& help,
                          FieldOptions options = {}) {
  return field_at<Config>(
      flag, [member](Config& c) -> T& { return c.*member; }, help, std::move(options));
}

// A member's table as fields of the struct that holds it: the same flags,
// keys and help, reached through `at` (e.g. a benchmark's settings inside the
// command's, beside the command's own --csv and --json).
template <class Outer, class Inner, class At>
std::vector<ConfigField<Outer>> nested_fields(const std::vector<ConfigField<Inner>>& inner, At at) {
  std::vector<ConfigField<Outer>> out;
  for (const auto& f : inner) {
    ConfigField<Outer> g;
    g.type = f.type, g.flag = f.flag, g.key = f.key, g.help = f.help, g.on_resume = f.on_resume;
    g.is_switch = f.is_switch, g.on_command_line = f.on_command_line, g.legacy = f.legacy;
    g.former_keys = f.former_keys, g.implicit = f.implicit, g.text_items = f.text_items;
    // get() reads through the accessor; it does not modify the struct.
    g.get = [get = f.get, at](const Outer& o) { return get(at(const_cast<Outer&>(o))); };
    g.set_json = [set = f.set_json, at](Outer& o, const nlohmann::json& j) { set(at(o), j); };
    g.set_text = [set = f.set_text, at](Outer& o, const std::string& text) { set(at(o), text); };
    out.push_back(std::move(g));
  }
  return out;
}

// Every field as a JSON object, in the table's order.
template <class Config>
nlohmann::json fields_to_json(const Config& config, const std::vector<ConfigField<Config>>& fields) {
  auto j = nlohmann::json::object();
  for (const auto& f : fields) j[f.key] = f.get(config);
  return j;
}

// A config from JSON: every field must be there, except those with a legacy
// value (files from before the field). Throws std::invalid_argument naming
// the key.
template <class Config>
Config fields_from_json(const nlohmann::json& j, const std::vector<ConfigField<Config>>& fields) {
  Config c;
  for (const auto& f : fields) {
    auto it = j.find(f.key);
    for (size_t k = 0; it == j.end() && k < f.former_keys.size(); ++k) it = j.find(f.former_keys[k]);
    try {
      if (it != j.end())
        f.set_json(c, *it);
      else if (f.legacy)
        f.set_json(c, *f.legacy);
      else
        throw std::invalid_argument("'" + f.key + "' is missing");
    } catch (const nlohmann::json::exception&) {
      throw std::invalid_argument("'" + f.key + "' has the wrong type (" + (it != j.end() ? it->dump() : "") +
                                  "): expected " + expected_json(f.type));
    }
  }
  return c;
}

// `stored`, with the fields a resumed run may change taken from `given`:
// all of them, or those `take` picks (the flags given on the command line).
template <class Config, class Take>
Config resumed_config(const Config& stored, const Config& given, const std::vector<ConfigField<Config>>& fields,
                      const Take& take) {
  Config c = stored;
  for (const auto& f : fields)
    if (f.on_resume && take(f)) f.set_json(c, f.get(given));
  return c;
}
template <class Config>
Config resumed_config(const Config& stored, const Config& given, const std::vector<ConfigField<Config>>& fields) {
  return resumed_config(stored, given, fields, [](const ConfigField<Config>&) { return true; });
}

// A value as a user would type it: JSON's shortest round-trip form for
// numbers (0.1, not 0.10000000000000001), strings without quotes.
inline std::string display_value(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_array()) {
    std::string out;
    for (const auto& v : value) out += (out.empty() ? "" : " ") + display_value(v);
    return out;
  }
  return value.dump();
}

}  // namespace aaren::base
