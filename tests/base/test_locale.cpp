// Numbers read and written the same whatever locale the host program has set:
// a robot controller that links the lean runtime may call setlocale(LC_ALL, "")
// under LC_ALL=de_DE.UTF-8, where strtod and std::stod read "0.5" as 0. Runs in
// the suite and again under users' settings (ctest -L environment).
#include <catch2/catch.hpp>

#include <clocale>
#include <filesystem>
#include <string>

#include "base/config_fields.h"
#include "base/cpu_load.h"
#include "base/numbers.h"
#include "runtime/policy_file.h"
#include "tests/prerequisite.h"
#include "tests/runtime/random_policy_file.h"

namespace {
// Sets the C locale to the decimal-comma one for its lifetime (the
// environment's when it already is one), and back.
class DecimalCommaLocale {
 public:
  DecimalCommaLocale() : before_(std::setlocale(LC_ALL, nullptr)) {
    active_ = std::setlocale(LC_ALL, "de_DE.UTF-8") != nullptr || std::setlocale(LC_ALL, "de_DE.utf8") != nullptr;
  }
  ~DecimalCommaLocale() { std::setlocale(LC_ALL, before_.c_str()); }
  bool active() const { return active_; }

 private:
  std::string before_;
  bool active_ = false;
};
}  // namespace

TEST_CASE("environment: flags and policy files read '.' decimals under a decimal-comma locale", "[base][environment]") {
  const DecimalCommaLocale locale;
  // In the C locale even a plain strtod would pass every check below.
  AAREN_REQUIRE_PREREQUISITE(locale.active(), "the de_DE.UTF-8 locale (scripts/setup.sh generates it)");
  // The locale is the one that breaks strtod: it stops at the '.'.
  CHECK(std::strtod("0.5", nullptr) == 0.0);
  double v = 0;
  CHECK(aaren::base::parse_real("0.5", v));
  CHECK(v == 0.5);
  CHECK(aaren::base::parse_real("-1e-4", v));
  CHECK(v == -1e-4);
  CHECK(aaren::base::parse_real("+3", v));
  CHECK(v == 3.0);
  for (const char* bad : {"0,5", "", "inf", "-nan", "1e999", "0.5x", " 1", "++1"}) {
    INFO(bad);
    CHECK_FALSE(aaren::base::parse_real(bad, v));
  }
  CHECK(aaren::base::parse_value<double>("2.5e-3") == 2.5e-3);
  CHECK_THROWS(aaren::base::parse_value<double>("2,5"));
  // A policy file's header numbers.
  auto file = aaren::testing::random_policy_file({}, 5);
  file.header["return_scale"] = "1000.5";
  const auto path = (std::filesystem::temp_directory_path() / "aaren_locale_policy.bin").string();
  aaren::lean::write_policy_file(path, file);
  const auto read = aaren::lean::read_policy_file(path);
  std::filesystem::remove(path);
  CHECK(read.real("return_scale") == 1000.5);
}

TEST_CASE("environment: the shared-cores warning writes '.' decimals under a decimal-comma locale",
          "[base][environment]") {
  const DecimalCommaLocale locale;
  AAREN_REQUIRE_PREREQUISITE(locale.active(), "the de_DE.UTF-8 locale (scripts/setup.sh generates it)");
  const auto line = aaren::base::shared_cores_warning(2, 1.04, 2);
  INFO(line);
  CHECK(line.find("about 1.0 of the 2 cores") != std::string::npos);
}
