#include "base/run_history.h"

#include "base/float_env.h"

#include <fstream>
#include <iostream>

namespace aaren::base {

nlohmann::json recorded_provenance(const std::string& path) {
  std::ifstream in(path);
  if (!in) return nullptr;
  const auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("provenance") || !j.at("provenance").is_object()) return nullptr;
  return j.at("provenance");
}

nlohmann::json continued_history(const nlohmann::json& before, const nlohmann::json& now, const nlohmann::json& where) {
  nlohmann::json history =
      before.is_object()
          ? before
          : nlohmann::json{{"start", "not recorded: no provenance found in the config.json beside what it continues"}};
  if (!history.contains("resumes") || !history.at("resumes").is_array()) history["resumes"] = nlohmann::json::array();
  nlohmann::json entry = {{"command", now.value("command", nlohmann::json())},
                          {"started_utc", now.value("started_utc", "")},
                          {"commit", now.value("commit", "")},
                          {"machine", now.value("machine", nlohmann::json())}};
  for (const char* key : {"toolkit", "libtorch", "mujoco", "hdf5"})  // the build that continued it
    if (now.contains(key)) entry[key] = now.at(key);
  for (const auto& [key, value] : where.items()) entry[key] = value;
  history["resumes"].push_back(entry);
  return history;
}

namespace {
// The record of the stretch that saved the state continued at `position`: the last
// resume whose `position_key` lies below it, else the start (null without a record).
// A record edited by hand is read as far as it makes sense: a resume without its
// position counts as one at 0, one whose position is not an integer is passed over.
nlohmann::json stretch_at(const nlohmann::json& history, const std::string& position_key, int64_t position) {
  if (!history.is_object()) return nullptr;
  nlohmann::json stretch = history;
  for (const auto& resume : history.value("resumes", nlohmann::json::array())) {
    if (!resume.is_object()) continue;
    const auto at = resume.value(position_key, nlohmann::json(0));
    if (at.is_number_integer() && at.get<int64_t>() < position) stretch = resume;
  }
  return stretch;
}
}  // namespace

std::optional<bool> subnormals_flushed_in(const nlohmann::json& history, const std::string& position_key,
                                          int64_t position) {
  const auto stretch = stretch_at(history, position_key, position);
  const auto machine = stretch.is_object() ? stretch.value("machine", nlohmann::json()) : nlohmann::json();
  if (!machine.is_object()) return std::nullopt;
  const auto flushed = machine.value("subnormals_flushed", nlohmann::json(false));
  if (!flushed.is_boolean()) return std::nullopt;  // damaged: as if not recorded
  return flushed.get<bool>();
}

std::string commit_in(const nlohmann::json& history, const std::string& position_key, int64_t position) {
  const auto stretch = stretch_at(history, position_key, position);
  if (!stretch.is_object() || !stretch.contains("commit") || !stretch.at("commit").is_string()) return "";
  return stretch.at("commit").get<std::string>();
}

std::string other_build_note(const std::string& then, const std::string& now, const std::string& run) {
  if (then.empty() || now.empty() || then == now) return "";
  return "note: " + run + " was saved by a build of commit " + then + ", this process is commit " + now +
         ": it continues bit for bit only if both compute alike (scripts/cross-build-check.sh compares builds)";
}

std::string subnormal_setting_warning(std::optional<bool> then, bool now, const std::string& run) {
  if (then == now) return "";
  const std::string process = std::string("this process ") + (now ? "flushes them" : "keeps them");
  if (!then)
    return "warning: " + run + " recorded no subnormal-float setting, " + process +
           ": it continues, perhaps not bit for bit (builds that did not record it kept them: "
           "AAREN_KEEP_SUBNORMALS=1 continues those exactly)";
  return "warning: " + run + " ran with subnormal floats " + (*then ? "flushed to zero" : "kept") + ", " + process +
         ": it continues, no longer bit for bit; " +
         (*then ? "unset AAREN_KEEP_SUBNORMALS" : "set AAREN_KEEP_SUBNORMALS=1") + " to continue it exactly";
}

nlohmann::json resumed_history(const nlohmann::json& before, const nlohmann::json& now, const nlohmann::json& where,
                               const std::string& position_key, const std::string& run) {
  const auto then = subnormals_flushed_in(before, position_key, where.at(position_key).get<int64_t>());
  const auto warning = subnormal_setting_warning(then, subnormals_flushed(), run);
  if (!warning.empty()) std::cerr << warning << "\n";
  const auto note = other_build_note(commit_in(before, position_key, where.at(position_key).get<int64_t>()),
                                     now.value("commit", ""), run);
  if (!note.empty()) std::cerr << note << "\n";
  return continued_history(before, now, where);
}

}  // namespace aaren::base
