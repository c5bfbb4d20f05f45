// Suggestions for misspelt names: edit distance and the closeness rule.
#include <catch2/catch.hpp>

#include "base/did_you_mean.h"

using aaren::base::closest_name;
using aaren::base::did_you_mean;
using aaren::base::edit_distance;

TEST_CASE("did you mean: edit distance, case-blind, and only close names are suggested", "[base]") {
  CHECK(edit_distance("", "") == 0);
  CHECK(edit_distance("abc", "") == 3);
  CHECK(edit_distance("kitten", "sitting") == 3);
  CHECK(edit_distance("Hopper", "hopper") == 0);
  CHECK(edit_distance("hoper", "hopper") == 1);
  const std::vector<std::string> known{"hopper", "halfcheetah", "walker2d", "--heads", "--episodes"};
  CHECK(closest_name("hoper", known) == "hopper");
  CHECK(closest_name("--heds", known) == "--heads");
  CHECK(closest_name("walker", known) == "walker2d");
  CHECK(closest_name("pong", known).empty());  // no known name is near
  CHECK(closest_name("humanoid", known).empty());
  CHECK(did_you_mean("hoper", known) == " (did you mean 'hopper'?)");
  CHECK(did_you_mean("pong", known).empty());
  CHECK(did_you_mean("x", {}).empty());
  // A known name typed exactly is never suggested back (it was refused for another reason),
  // one that differs only in case still is; the next closest name may be.
  CHECK(did_you_mean("hopper", known).empty());
  CHECK(did_you_mean("Hopper", known) == " (did you mean 'hopper'?)");
  CHECK(closest_name("hopper", {"hopper", "hoppers"}) == "hoppers");
}
