// A run's record across resumes (base/run_history.h), on hand-made records:
// which stretch saved the state a resume continues, and what is said when
// the record cannot tell.
#include <catch2/catch.hpp>

#include <iostream>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/float_env.h"
#include "base/run_history.h"

namespace {
nlohmann::json machine(bool flushed) { return {{"cpu", "x"}, {"subnormals_flushed", flushed}}; }
}  // namespace

TEST_CASE("run history: the stretch that saved the state decides the subnormal setting", "[base]") {
  nlohmann::json history = {{"machine", machine(false)}, {"resumes", nlohmann::json::array()}};
  history["resumes"].push_back({{"at_update", 100}, {"machine", machine(true)}});
  history["resumes"].push_back({{"at_update", 300}, {"machine", machine(false)}});
  CHECK(aaren::base::subnormals_flushed_in(history, "at_update", 100) == false);  // saved by the start
  CHECK(aaren::base::subnormals_flushed_in(history, "at_update", 101) == true);
  CHECK(aaren::base::subnormals_flushed_in(history, "at_update", 300) == true);
  CHECK(aaren::base::subnormals_flushed_in(history, "at_update", 301) == false);
  history["resumes"].push_back({{"at_update", 500}, {"machine", machine(true)}});
  CHECK(aaren::base::subnormals_flushed_in(history, "at_update", 500) == false);
  // A resume without the position's key counts as one before every position: the last one decides.
  CHECK(aaren::base::subnormals_flushed_in(history, "at_step", 1) == true);
  history["machine"].erase("subnormals_flushed");  // recorded before the setting existed: every run kept them
  CHECK(aaren::base::subnormals_flushed_in(history, "at_update", 50) == false);
  CHECK_FALSE(aaren::base::subnormals_flushed_in(nullptr, "at_update", 50).has_value());
  CHECK_FALSE(aaren::base::subnormals_flushed_in({{"command", "x"}}, "at_update", 50).has_value());
}

// A config.json edited by hand: before, a position or setting of the wrong type stopped the resume with
// nlohmann's bare "type must be number, but is string".
TEST_CASE("run history: a record of the wrong types is read as far as it makes sense, never thrown on", "[base]") {
  nlohmann::json history = {{"machine", machine(false)}, {"commit", "abc"}, {"resumes", nlohmann::json::array()}};
  history["resumes"].push_back({{"at_update", 100}, {"machine", machine(true)}, {"commit", "def"}});
  history["resumes"].push_back({{"at_update", "200"}, {"machine", machine(false)}, {"commit", 7}});
  history["resumes"].push_back(5);
  CHECK(aaren::base::subnormals_flushed_in(history, "at_update", 300) == true);  // "200" passed over
  CHECK(aaren::base::commit_in(history, "at_update", 300) == "def");
  history["resumes"][0]["machine"]["subnormals_flushed"] = "yes";
  CHECK_FALSE(aaren::base::subnormals_flushed_in(history, "at_update", 300).has_value());  // as if unrecorded
  std::ostringstream captured;
  auto* original = std::cerr.rdbuf(captured.rdbuf());
  nlohmann::json resumed;
  CHECK_NOTHROW(resumed = aaren::base::resumed_history(history, {{"commit", "abc"}}, {{"at_update", 300}}, "at_update",
                                                       "runs/x"));
  std::cerr.rdbuf(original);
  CHECK(resumed.at("resumes").size() == 4);
  CHECK_THAT(captured.str(), Catch::Contains("runs/x recorded no subnormal-float setting"));
}

TEST_CASE("run history: a resume is appended, and an unrecorded start is said to be unrecorded", "[base]") {
  const nlohmann::json now = {{"command", {"aaren sac"}},
                              {"commit", "abc"},
                              {"machine", machine(true)},
                              {"started_utc", "2026-12-07T00:00:00Z"},
                              {"toolkit", "aaren-rl"}};
  const nlohmann::json start = {{"commit", "old"}, {"machine", machine(false)}};
  const auto continued = aaren::base::continued_history(start, now, {{"at_step", 70}});
  CHECK(continued.at("commit") == "old");
  REQUIRE(continued.at("resumes").size() == 1);
  CHECK(continued.at("resumes").at(0).at("commit") == "abc");
  CHECK(continued.at("resumes").at(0).at("at_step") == 70);
  CHECK(continued.at("resumes").at(0).at("toolkit") == "aaren-rl");  // the build that continued it
  CHECK_FALSE(continued.at("resumes").at(0).contains("libtorch"));   // (not in `now`: not made up)
  const auto unknown = aaren::base::continued_history(nullptr, now, {{"at_step", 70}});
  CHECK(unknown.at("start").get<std::string>().rfind("not recorded", 0) == 0);
  CHECK_FALSE(unknown.contains("machine"));  // nothing of this process passes for the start's
  CHECK(unknown.at("resumes").size() == 1);
}

TEST_CASE("run history: the warning names the run and both settings, or the missing record", "[base]") {
  CHECK(aaren::base::subnormal_setting_warning(true, true, "runs/a").empty());
  CHECK(aaren::base::subnormal_setting_warning(false, false, "runs/a").empty());
  CHECK(aaren::base::subnormal_setting_warning(false, true, "runs/a") ==
        "warning: runs/a ran with subnormal floats kept, this process flushes them: it continues, no longer bit for "
        "bit; set AAREN_KEEP_SUBNORMALS=1 to continue it exactly");
  CHECK_THAT(
      aaren::base::subnormal_setting_warning(true, false, "runs/a"),
      Catch::Contains("flushed to zero, this process keeps them") && Catch::Contains("unset AAREN_KEEP_SUBNORMALS"));
  CHECK_THAT(aaren::base::subnormal_setting_warning(std::nullopt, true, "runs/a"),
             Catch::Contains("runs/a recorded no subnormal-float setting"));
}

// resumed_history reads the position from `where` under the key it is given, so
// a resume past the stretch that flushed (or kept) subnormals is judged by that
// stretch, and warns on stderr only when this process's setting differs.
TEST_CASE("run history: a resume warns once by the stretch it continues, and appends itself", "[base]") {
  const bool here = aaren::base::subnormals_flushed();
  nlohmann::json before = {{"machine", machine(here)}, {"resumes", nlohmann::json::array()}};
  before["resumes"].push_back({{"at_update", 100}, {"machine", machine(!here)}});
  const nlohmann::json now = {{"command", {"aaren train"}}, {"machine", machine(here)}};
  std::ostringstream said;
  auto* const stderr_buffer = std::cerr.rdbuf(said.rdbuf());
  const auto same = aaren::base::resumed_history(before, now, {{"at_update", 100}}, "at_update", "runs/a");
  const auto same_said = said.str();
  const auto other = aaren::base::resumed_history(before, now, {{"at_update", 101}}, "at_update", "runs/a");
  std::cerr.rdbuf(stderr_buffer);
  CHECK(same_said.empty());  // saved by the start, which ran as this process does
  CHECK(said.str() == aaren::base::subnormal_setting_warning(!here, here, "runs/a") + "\n");
  CHECK(same.at("resumes").size() == 2);
  REQUIRE(other.at("resumes").size() == 2);
  CHECK(other.at("resumes").at(1).at("at_update") == 101);
}

// A resume by a build of another commit is said once: its bits equal an uninterrupted
// run's only if both builds compute alike. The stretch that saved the state decides.
TEST_CASE("run history: a resume by another commit's build is noted, by the stretch it continues", "[base]") {
  nlohmann::json history = {{"commit", "aaa"}, {"resumes", nlohmann::json::array()}};
  history["resumes"].push_back({{"at_update", 100}, {"commit", "bbb"}});
  CHECK(aaren::base::commit_in(history, "at_update", 100) == "aaa");
  CHECK(aaren::base::commit_in(history, "at_update", 101) == "bbb");
  CHECK(aaren::base::commit_in(nullptr, "at_update", 1).empty());
  CHECK(aaren::base::other_build_note("aaa", "aaa", "runs/a").empty());
  CHECK(aaren::base::other_build_note("", "bbb", "runs/a").empty());  // nothing recorded: nothing claimed
  CHECK(aaren::base::other_build_note("aaa", "bbb", "runs/a") ==
        "note: runs/a was saved by a build of commit aaa, this process is commit bbb: it continues bit for bit "
        "only if both compute alike (scripts/cross-build-check.sh compares builds)");
  std::ostringstream said;
  auto* const stderr_buffer = std::cerr.rdbuf(said.rdbuf());
  const nlohmann::json now = {{"commit", "bbb"}, {"machine", machine(aaren::base::subnormals_flushed())}};
  history["machine"] = now.at("machine");
  history["resumes"][0]["machine"] = now.at("machine");
  aaren::base::resumed_history(history, now, {{"at_update", 101}}, "at_update", "runs/a");
  const auto same_build = said.str();
  aaren::base::resumed_history(history, now, {{"at_update", 50}}, "at_update", "runs/a");
  std::cerr.rdbuf(stderr_buffer);
  CHECK(same_build.empty());
  CHECK(said.str() == aaren::base::other_build_note("aaa", "bbb", "runs/a") + "\n");
}
