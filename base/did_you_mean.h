// "Did you mean ...?" for a misspelt name: the closest of the known names by
// edit distance (Levenshtein, case-blind), when it is close enough to be a
// slip of the keyboard rather than another word.
#pragma once

#include <string>
#include <vector>

namespace aaren::base {

// Insertions, deletions and substitutions turning a into b (case-blind).
int edit_distance(const std::string& a, const std::string& b);

// The closest of `known` to `word` other than `word` itself, or "" when none
// is within max(2, |word| / 3) edits (ties: the first listed).
std::string closest_name(const std::string& word, const std::vector<std::string>& known);

// " (did you mean 'x'?)", or "" when no known name is close or `word` is
// itself known (refused for another reason).
std::string did_you_mean(const std::string& word, const std::vector<std::string>& known);

}  // namespace aaren::base
