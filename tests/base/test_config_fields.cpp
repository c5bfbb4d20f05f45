// The config field tables (base/config_fields.h): strict parsing of command
// line text, the JSON round trip (enums by name, infinity as null, lists),
// values implied for keys older files lack, and what a resumed run keeps.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "base/atomic_file.h"
#include "base/config_fields.h"

namespace demo {
enum class Colour { kRed, kGreen, kBlue };
inline const char* to_string(Colour c) { return c == Colour::kRed ? "red" : c == Colour::kGreen ? "green" : "blue"; }
inline const std::vector<Colour>& all_values(Colour) {
  static const std::vector<Colour> v{Colour::kRed, Colour::kGreen, Colour::kBlue};
  return v;
}

struct Options {
  std::string name;
};

struct Config {
  int64_t steps = 10;
  uint64_t seed = 1;
  double rate = 0.1;
  double stop = std::numeric_limits<double>::infinity();
  bool flag = true;
  Colour colour = Colour::kGreen;
  std::vector<double> marks;
  Options options;
  std::string newer = "fresh";

  static const std::vector<aaren::base::ConfigField<Config>>& fields() {
    using aaren::base::field;
    static const std::vector<aaren::base::ConfigField<Config>> table{
        field("steps", &Config::steps, "steps", {"", true}),
        field("seed", &Config::seed, "seed"),
        field("rate", &Config::rate, "rate").formerly("learning_rate"),
        field("stop", &Config::stop, "stop"),
        field("flag", &Config::flag, "flag"),
        field("colour", &Config::colour, "colour"),
        field("marks", &Config::marks, "marks"),
        aaren::base::field_at<Config>(
            "name", [](Config& c) -> std::string& { return c.options.name; }, "name"),
        field("newer", &Config::newer, "a field added later", {"", false, nlohmann::json("old files")}),
    };
    return table;
  }
};
}  // namespace demo

using aaren::base::parse_value;

TEST_CASE("config fields: command-line text is parsed strictly", "[base]") {
  CHECK(parse_value<int64_t>("12") == 12);
  CHECK(parse_value<int64_t>("-3") == -3);
  for (const char* bad : {"", "1e3", "12x", " 5", "0x10", "9223372036854775808", "-"})
    CHECK_THROWS_WITH(parse_value<int64_t>(bad), Catch::Contains("expected an integer"));
  // The type's range is said only for a number outside it (a count's own limits are its config's to name).
  CHECK_THROWS_WITH(parse_value<int64_t>("12x"), Catch::Equals("expected an integer"));
  CHECK_THROWS_WITH(parse_value<int64_t>("9223372036854775808"), Catch::EndsWith("got one outside it"));
  CHECK(parse_value<uint64_t>("18446744073709551615") == std::numeric_limits<uint64_t>::max());
  CHECK_THROWS_WITH(parse_value<uint64_t>("-1"), Catch::Contains("non-negative"));  // not 2^64 - 1
  CHECK_THROWS(parse_value<int>("2147483648"));
  CHECK(parse_value<double>("0.1") == 0.1);
  CHECK(parse_value<double>("-2.5e-3") == -2.5e-3);
  for (const char* bad : {"nan", "inf", "-inf", "1e999", "0.1.2", "", "1,5"})
    CHECK_THROWS_WITH(parse_value<double>(bad), Catch::Contains("finite number"));
  CHECK(parse_value<bool>("yes"));
  CHECK_FALSE(parse_value<bool>("0"));
  CHECK_THROWS(parse_value<bool>("maybe"));
  CHECK(aaren::base::parse_enum<demo::Colour>("blue") == demo::Colour::kBlue);
  CHECK_THROWS_WITH(aaren::base::parse_enum<demo::Colour>("teal"),
                    Catch::Contains("must be red, green or blue, got 'teal'"));
}

TEST_CASE("config fields: JSON round trip, legacy values, lists, infinity, resume", "[base]") {
  using demo::Config;
  Config c;
  for (const auto& f : Config::fields()) {
    if (f.flag == "marks") f.set_text(c, "1 2.5  -3");
    if (f.flag == "name") f.set_text(c, "hopper");
    if (f.flag == "colour") f.set_text(c, "red");
  }
  CHECK(c.marks == std::vector<double>{1, 2.5, -3});
  CHECK(c.options.name == "hopper");
  const auto j = aaren::base::fields_to_json(c, Config::fields());
  CHECK(j.at("stop").is_null());  // JSON has no infinity
  CHECK(j.at("colour") == "red");
  CHECK(j.at("name") == "hopper");
  CHECK(j.at("rate") == 0.1);
  CHECK(aaren::base::display_value(j.at("rate")) == "0.1");  // shortest form, not 0.10000000000000001
  CHECK(aaren::base::display_value(j.at("marks")) == "1.0 2.5 -3.0");
  const auto back = aaren::base::fields_from_json(j, Config::fields());
  CHECK(std::isinf(back.stop));
  CHECK(back.colour == demo::Colour::kRed);
  CHECK(back.marks == c.marks);
  CHECK(aaren::base::fields_to_json(back, Config::fields()) == j);
  // A key older files lack: its legacy value; any other missing key is an error naming it.
  auto old = j;
  old.erase("newer");
  CHECK(aaren::base::fields_from_json(old, Config::fields()).newer == "old files");
  old.erase("seed");
  CHECK_THROWS_WITH(aaren::base::fields_from_json(old, Config::fields()), Catch::Contains("'seed' is missing"));
  auto typo = j;
  typo["steps"] = "ten";
  CHECK_THROWS_WITH(aaren::base::fields_from_json(typo, Config::fields()), Catch::Contains("'steps'"));
  typo = j;
  typo["colour"] = "teal";
  CHECK_THROWS_WITH(aaren::base::fields_from_json(typo, Config::fields()), Catch::Contains("'colour'"));
  // A resumed run takes only the fields marked so from the new config.
  Config given;
  given.steps = 99, given.rate = 0.5;
  const auto resumed = aaren::base::resumed_config(back, given, Config::fields());
  CHECK(resumed.steps == 99);
  CHECK(resumed.rate == 0.1);
}

TEST_CASE("config fields: a number in JSON is read only into a field it fits", "[base]") {
  using demo::Config;
  const auto j = aaren::base::fields_to_json(Config{}, Config::fields());
  const auto read = [&j](const std::string& key, const nlohmann::json& value) {
    auto k = j;
    k[key] = value;
    return aaren::base::fields_from_json(k, Config::fields());
  };
  const auto throws = [&read](const std::string& key, const nlohmann::json& value, const std::string& message) {
    CHECK_THROWS_WITH(read(key, value), Catch::Contains(message));
  };
  throws("steps", 3.5, "'steps' has the wrong type (3.5): expected an integer");          // nlohmann alone reads 3
  throws("seed", -1, "'seed' has the wrong type (-1): expected a non-negative integer");  // not 2^64 - 1
  throws("seed", 1.0, "'seed' has the wrong type (1.0): expected a non-negative integer");
  throws("steps", true, "'steps' has the wrong type (true): expected an integer");  // not 1
  throws("rate", false, "'rate' has the wrong type (false): expected a number");    // not 0.0
  throws("steps", 18446744073709551615ULL, "'steps' is out of range (18446744073709551615): expected");
  // What fits is read exactly: a non-negative signed JSON integer into an
  // unsigned field (as a legacy value written json(0) is), the extremes, an
  // integer into a number field.
  CHECK(read("seed", nlohmann::json(std::int64_t{7})).seed == 7);
  CHECK(read("seed", std::numeric_limits<uint64_t>::max()).seed == std::numeric_limits<uint64_t>::max());
  CHECK(read("steps", std::numeric_limits<int64_t>::min()).steps == std::numeric_limits<int64_t>::min());
  CHECK(read("rate", 2).rate == 2.0);
  // A list's items each as a field of their own.
  throws("marks", nlohmann::json::array({1.5, true}), "'marks[1]' has the wrong type (true): expected a number");
  throws("marks", "1 2", "'marks' has the wrong type (\"1 2\"): expected a list");
  CHECK(read("marks", nlohmann::json::array({1, 2.5})).marks == std::vector<double>{1, 2.5});
}

TEST_CASE("atomic files: a write replaces the file whole, a failed one leaves it as it was", "[base]") {
  const std::string dir = "/tmp/aaren_test_atomic_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  const auto path = dir + "/f.txt";
  aaren::base::write_file_atomically(path, "first");
  aaren::base::write_file_atomically(path, "second");
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  CHECK(text == "second");
  CHECK_THROWS_AS(aaren::base::write_through_temp_file(path, [](const std::string&) { throw std::runtime_error("x"); }),
                  std::runtime_error);
  std::ifstream again(path);
  std::string kept((std::istreambuf_iterator<char>(again)), {});
  CHECK(kept == "second");
  CHECK_FALSE(std::filesystem::exists(aaren::base::temp_file_name(path)));  // the temporary file is gone
  CHECK_THROWS_AS(aaren::base::write_file_atomically(dir + "/no/such/folder/f.txt", "x"), aaren::base::FileWriteError);
  std::filesystem::remove_all(dir);
}

TEST_CASE("config fields: a renamed key is still read under its former name, and written under its new one", "[base]") {
  const auto& fields = demo::Config::fields();
  auto j = aaren::base::fields_to_json(demo::Config{}, fields);
  j.erase("rate");
  j["learning_rate"] = 0.25;
  CHECK(aaren::base::fields_from_json(j, fields).rate == 0.25);
  j["rate"] = 0.5;  // both: the current name wins
  CHECK(aaren::base::fields_from_json(j, fields).rate == 0.5);
  const auto written = aaren::base::fields_to_json(aaren::base::fields_from_json(j, fields), fields);
  CHECK(written.contains("rate"));
  CHECK_FALSE(written.contains("learning_rate"));
  j.erase("rate");
  j.erase("learning_rate");
  CHECK_THROWS_WITH(aaren::base::fields_from_json(j, fields), Catch::Contains("'rate' is missing"));
}
