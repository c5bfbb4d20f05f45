// Command-line plumbing shared by the subcommands: dispatch by name, --help,
// and one error policy (a one-line message; exit 2 for bad usage or input,
// 1 for a failure while running).
#pragma once

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace aaren::cli {

// argv[0] of a command's run() is its full name, e.g. "aaren bench scan".
struct Command {
  std::string name;
  std::string summary;
  std::function<int(int argc, char** argv)> run;
};

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// Runs the command named by argv[1] (argv[0] is `program`), or prints the
// list of commands for --help / no arguments. Catches every exception and
// turns it into a one-line message and an exit code.
int dispatch(const std::string& program, const std::string& description, const std::vector<Command>& commands, int argc,
             char** argv);

// Parses argv against `options`; returns false (after printing usage to
// stdout) when --help was given. Unknown flags and bad values throw
// boost::program_options::error, which dispatch() reports as usage errors.
bool parse(int argc, char** argv, const std::string& usage, boost::program_options::options_description& options,
           boost::program_options::variables_map& vm,
           const boost::program_options::positional_options_description* positional = nullptr);

// The most threads a --threads flag accepts: 4 x the hardware threads (more
// only oversubscribes the cores; tens of thousands hang thread creation).
int max_threads();

// Checked before any long work: `path` (a file an output flag names) can be
// written. Creates its parent folder when missing (folder = false) or the
// folder itself (folder = true), then writes and removes a probe file there.
// Throws UsageError naming the flag.
void require_writable(const std::string& flag, const std::string& path, bool folder = false);

// Nothing a user has is replaced unless asked. An output file that exists is
// refused (UsageError naming the flag: "replace it with --overwrite, or choose
// another"), unless `overwrite`; every writer here writes through a temporary
// file renamed into place, so even then the old file stays until the new one
// is complete.
void require_new_file(const std::string& flag, const std::string& path, bool overwrite);

// A table output (--csv, versus --out) must be named FILE.csv, so that a
// mistyped path (a dataset, a checkpoint) is refused rather than written over.
void require_csv_name(const std::string& flag, const std::string& path);

// Checked before the work: a table output (FILE.csv, with its record
// FILE.config.json beside it) is named FILE.csv, can be written, and replaces
// nothing but an earlier table of the same command: where FILE.csv or
// FILE.config.json exists, the record must exist and name `command` ("compare",
// "bench scan", ...), else UsageError naming the flag and the file (a run's
// eval.csv, another command's table or any file of the user's is kept).
void require_table_output(const std::string& flag, const std::string& path, const std::string& command);

// Checked before the work: a figure or video (plot's --out FILE.svg, rollout's
// --video FILE.gif) can be written, and its record FILE.config.json replaces
// none but an earlier one of `command` (the figure itself is written over). A
// figure's, video's or policy's record takes its whole name: FILE.svg.config.json.
void require_figure_output(const std::string& flag, const std::string& path, const std::string& command);

// What a folder holds that makes it a run's (`aaren train`'s or `aaren sac`'s):
// its config, logs, policies or checkpoints, sorted; empty for none.
std::vector<std::string> run_files_in(const std::string& dir);

// Whether a new run's `--out` folder holds a run that `overwrite` lets it
// replace: false when it holds none; refused (UsageError naming a few of its
// files, and the ways on: --resume where `resumable` (the folder holds what
// the command's --resume continues from), --overwrite, another --out) when it
// holds one and `overwrite` is false.
bool replaces_a_run_in(const std::string& out, bool overwrite, bool resumable);

// The run a new one replaces (--overwrite), moved aside whole (one rename,
// OUT.replaced.<pid>): commit() deletes it once the new run has started; if
// that never happens, the destructor puts it back (a process killed between
// leaves it there, under that name). Throws UsageError for the current folder
// or one above it, InputError when it cannot be moved.
class RunAside {
 public:
  explicit RunAside(const std::string& folder);
  RunAside(const RunAside&) = delete;
  RunAside& operator=(const RunAside&) = delete;
  void commit();
  ~RunAside();

 private:
  std::string folder_, aside_;
};

// Two spellings of one folder ("runs/a", "./runs/a/"; empty is ".").
bool same_folder(const std::string& a, const std::string& b);

// The record of the figures `command` draws into the folder `dir`: DIR/COMMAND.config.json
// (spaces as '-': DIR/bench-train.config.json).
std::string folder_record(const std::string& dir, const std::string& command);

// Before `command` draws the files `names` into the folder `dir` (--FLAG): throws UsageError,
// leaving everything as it is, where the folder's record names another command, or where one
// of those files exists with no record of `command` beside it (a user's file, not an earlier
// drawing). Creates the folder where it is missing.
void require_folder_output(const std::string& flag, const std::string& dir, const std::string& command,
                           const std::vector<std::string>& names);

// Where a CSV, figure or video goes, its resolved configuration and provenance
// go beside it (FILE.config.json, with "command" naming what wrote it).
// The record names that file ("output"). A table's record is FILE.config.json (of FILE.csv),
// any other output's FILE.EXT.config.json (of FILE.EXT).
void save_config_next_to(const std::string& path, const nlohmann::json& config);

// Throws UsageError when the output `out` is one of the inputs (same file,
// whatever the spelling of the path).
void require_not_input(const std::string& flag, const std::string& out, const std::vector<std::string>& inputs);

// The ranges every command shares, by flag name (--threads, --episodes,
// --updates, ...): throws UsageError "--NAME SHOWN: what" when `value` is out
// of range. parse() applies it to every typed flag.
void check_flag_range(const std::string& name, double value, const std::string& shown);

// "1h02m03s" / "2m03s": durations in progress lines.
std::string format_duration(double seconds);

// A usage error detected after parsing (a value out of range, a conflict).
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Bad input data (a file that is missing, malformed or inconsistent): the
// message is printed as it is, and the exit code is 2.
struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A policy read from `file` (a checkpoint or a policy file) whose action was NaN or infinite
// (`what`: which value, env, episode and step), as one line naming the file; `target`: the
// return an agent was conditioned on (none for a SAC policy).
InputError non_finite_action(const std::string& file, const std::string& what,
                             std::optional<double> target = std::nullopt);

}  // namespace aaren::cli
