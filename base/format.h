// Numbers as results are printed: three significant digits (what a mean over
// ten episodes or a handful of seeds supports), whole numbers from 100 up
// (a return of 3600 or 1493, never 3.6e+03), and "" for NaN or infinity
// (an empty CSV cell).
#pragma once

#include <cmath>
#include <iomanip>
#include <sstream>
#include <string>

namespace aaren::base {

inline std::string three_significant(double v) {
  if (!std::isfinite(v)) return "";
  if (v == 0) v = 0;  // -0.0 prints as 0.00
  std::ostringstream os;
  if (std::abs(v) >= 100)
    os << std::fixed << std::setprecision(0) << v;
  else
    os << std::showpoint << std::setprecision(3) << v;  // 4.00, not 4
  const auto text = os.str();
  return text == "-0" ? "0" : text;  // (-0.4 rounds to it)
}

// A number as a person typed it (1.5, 0.9, 5, 1e-04): flags and settings echoed back in messages and headings.
inline std::string plain(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

// "1 episode", "10 episodes": a count with its noun (plural with an s).
inline std::string count_of(long long n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

}  // namespace aaren::base
