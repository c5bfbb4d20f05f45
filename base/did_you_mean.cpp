#include "base/did_you_mean.h"

#include <algorithm>
#include <cctype>

namespace aaren::base {

int edit_distance(const std::string& a, const std::string& b) {
  // One row of the dynamic programme at a time: row[j] = distance(a[:i], b[:j]).
  std::vector<int> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = static_cast<int>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    int diagonal = row[0];
    row[0] = static_cast<int>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      const bool same =
          std::tolower(static_cast<unsigned char>(a[i - 1])) == std::tolower(static_cast<unsigned char>(b[j - 1]));
      const int next = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = row[j];
      row[j] = next;
    }
  }
  return row[b.size()];
}

std::string closest_name(const std::string& word, const std::vector<std::string>& known) {
  const int limit = std::max<int>(2, static_cast<int>(word.size()) / 3);
  std::string best;
  int best_distance = limit + 1;
  for (const auto& name : known) {
    // The word itself is no suggestion: a known name that was refused for another reason (a
    // dataset named right but not installed) would be answered "did you mean" the same name.
    if (name == word) continue;
    const int d = edit_distance(word, name);
    if (d < best_distance) best = name, best_distance = d;
  }
  return best;
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& known) {
  // A known name was refused for another reason (a dataset named right but not installed):
  // suggesting a neighbour of it (another version) would mislead.
  if (std::find(known.begin(), known.end(), word) != known.end()) return "";
  const auto best = closest_name(word, known);
  return best.empty() ? "" : " (did you mean '" + best + "'?)";
}

}  // namespace aaren::base
