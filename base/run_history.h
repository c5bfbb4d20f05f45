// A run's record across its stops: config.json's "provenance" holds what first
// started it (apps/provenance.h: commit, libraries, machine, command, start
// time) and one entry under "resumes" for each process that continued it.
// Shared by `aaren train` (checkpoints by update) and `aaren sac` (a resume
// state by env step).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace aaren::base {

// The "provenance" object of the config.json at `path`; null when the file is
// missing, not JSON, or holds none (a run made before provenance was recorded).
nlohmann::json recorded_provenance(const std::string& path);

// The record of a run continued by this process. `before`: the provenance in
// the stopped run's config.json (null when it has none); `now`: this process's;
// `where`: what it continued from (e.g. {"from_checkpoint", ...}, {"at_update", N}).
// Returns `before` with an entry appended to "resumes" (now's command, start
// time, toolkit, commit, libraries and machine, and `where`). Without `before`
// (no config.json beside what it continues, or one written before provenance
// was recorded) the start is unknown and is said to be so: no machine at the
// top, so nothing is read off it that did not happen.
nlohmann::json continued_history(const nlohmann::json& before, const nlohmann::json& now, const nlohmann::json& where);

// Whether the stretch of a run that wrote the state continued at `position`
// flushed subnormals (base/float_env.h): the last resume whose `position_key`
// ("at_update", "at_step") lies below `position`, else the start (a resume
// without the key counts as one before every position). A machine
// recorded without the key kept them (it was recorded before the setting
// existed, when every run kept them); nullopt when that stretch recorded no
// machine.
std::optional<bool> subnormals_flushed_in(const nlohmann::json& history, const std::string& position_key,
                                          int64_t position);

// The one-line warning a resume gives when this process's subnormal setting is
// not the one the continued stretch ran with (`then`), naming the `run`;
// empty when they are the same.
std::string subnormal_setting_warning(std::optional<bool> then, bool now, const std::string& run);

// The commit of the build that ran that stretch ("" where none is recorded), and
// the one-line note a resume gives when this process (`now`) is of another commit:
// its bits equal an uninterrupted run's only if the two builds compute alike.
std::string commit_in(const nlohmann::json& history, const std::string& position_key, int64_t position);
std::string other_build_note(const std::string& then, const std::string& now, const std::string& run);

// A resume's record, as both commands make it: continued_history(before, now,
// where), after printing to stderr the warning above (once, naming `run`) when
// this process's subnormal setting is not that of the stretch which saved the
// state it continues, the stretch found by where[position_key] (the position
// it continues at: "at_update", "at_step"), and the note above when its commit differs.
nlohmann::json resumed_history(const nlohmann::json& before, const nlohmann::json& now, const nlohmann::json& where,
                               const std::string& position_key, const std::string& run);

}  // namespace aaren::base
