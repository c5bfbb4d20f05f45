// Numbers from text without the C locale: strtod and std::stod read "0.5" as
// 0 under a decimal-comma locale (LC_NUMERIC=de_DE.UTF-8), which a program
// that embeds this code may have set with setlocale(LC_ALL, ""). from_chars
// reads the C ("classic") format always.
#pragma once

#include <charconv>
#include <string_view>
#include <system_error>

namespace aaren::base {

// The whole of `text` as a decimal or scientific number ("0.5", "-1e-4",
// "+3"), written into `value`; false (value untouched) for anything else,
// for out-of-range values, and for "inf" and "nan".
inline bool parse_real(std::string_view text, double& value) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty() || text.front() == '+' || text.front() == 'i' || text.front() == 'I' || text.front() == 'n' ||
      text.front() == 'N')
    return false;
  const char* end = text.data() + text.size();
  if (text.front() == '-' && text.size() > 1 && (text[1] == 'i' || text[1] == 'I' || text[1] == 'n' || text[1] == 'N'))
    return false;
  double v = 0;
  const auto [stop, error] = std::from_chars(text.data(), end, v, std::chars_format::general);
  if (error != std::errc() || stop != end) return false;
  value = v;
  return true;
}

}  // namespace aaren::base
