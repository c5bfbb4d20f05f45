#include "apps/cli.h"

#include <c10/util/Exception.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>

#include "base/atomic_file.h"
#include "base/did_you_mean.h"

namespace aaren::cli {

namespace po = boost::program_options;

namespace {

// Forwards to stderr's buffer and remembers whether the last character was a
// newline: an error raised while a "\r" progress line is open then starts on
// a line of its own.
class LineTrackingBuf : public std::streambuf {
 public:
  explicit LineTrackingBuf(std::streambuf* target) : target_(target) {}
  bool mid_line() const { return mid_line_; }

 protected:
  int overflow(int ch) override {
    if (ch == traits_type::eof()) return traits_type::not_eof(ch);
    mid_line_ = ch != '\n';
    return target_->sputc(static_cast<char>(ch));
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    if (n > 0) mid_line_ = s[n - 1] != '\n';
    return target_->sputn(s, n);
  }
  int sync() override { return target_->pubsync(); }

 private:
  std::streambuf* target_;
  bool mid_line_ = false;
};

// `aaren help --markdown`: every command's --help as a Markdown table
// (docs/CLI-REFERENCE.md), from the same option descriptions (the commands'
// field tables) that make its flags.
bool markdown_help = false;

// A table cell's text: '|' escaped (GitHub's tables split on it, in code
// spans too); outside code spans '<' and '>' as entities, so that
// checkpoint_<update>.pt is not taken for an HTML tag.
std::string markdown_cell(const std::string& text, bool code = false) {
  std::string out;
  for (char c : text)
    out += c == '|'            ? std::string("\\|")
           : !code && c == '<' ? std::string("&lt;")
           : !code && c == '>' ? std::string("&gt;")
                               : std::string(1, c);
  return out;
}

void print_markdown_options(const std::string& command, const std::string& usage,
                            const po::options_description& options) {
  std::cout << "Usage: `" << command << " " << usage.substr(0, usage.find('\n')) << "`\n\n";
  std::cout << "| flag | default | what it sets |\n|---|---|---|\n";
  for (const auto& o : options.options()) {
    if (o->long_name() == "help") continue;
    // format_parameter(): "arg (=default)", "arg", or "" for a switch.
    const std::string parameter = o->format_parameter();
    const auto open = parameter.find(" (=");
    const std::string value_name = parameter.substr(0, open);
    const std::string shown = open == std::string::npos ? "" : parameter.substr(open + 3, parameter.size() - open - 4);
    std::cout << "| `" << markdown_cell("--" + o->long_name() + (value_name.empty() ? "" : " " + value_name), true)
              << "` | " << (shown.empty() ? "" : "`" + markdown_cell(shown, true) + "`") << " | "
              << markdown_cell(o->description()) << " |\n";
  }
  std::cout << "\n";
}

// Each command's section: its name, summary and options (a group's
// subcommands in turn).
int print_markdown_commands(const std::string& program, const std::vector<Command>& commands) {
  for (const auto& c : commands) {
    std::string full = program + " " + c.name;
    std::cout << "## " << full << "\n\n" << c.summary << ".\n\n";
    static char help_flag[] = "--help";
    std::vector<char*> args{full.data(), help_flag};
    c.run(static_cast<int>(args.size()), args.data());
  }
  return kExitOk;
}

// The folders require_writable created for outputs that were never written: a command that fails
// after the check (a missing input, a bad file) leaves no empty folder behind it.
std::vector<std::filesystem::path>& created_folders() {
  static std::vector<std::filesystem::path> folders;
  return folders;
}

// Removes each created folder that still holds no file (only empty folders, if any, inside it).
void remove_unused_created_folders() {
  namespace fs = std::filesystem;
  for (const auto& folder : created_folders()) {
    std::error_code ec;
    bool holds_a_file = false;
    for (fs::recursive_directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec))
      if (!it->is_directory(ec)) holds_a_file = true;
    if (!ec && !holds_a_file) fs::remove_all(folder, ec);
  }
  created_folders().clear();
}

// One command run; an error becomes one line on stderr and its exit code.
int run_command(const Command& c, const std::string& full, std::vector<char*>& args) {
  LineTrackingBuf tracking(std::cerr.rdbuf());
  struct Restore {
    std::streambuf* original;
    ~Restore() { std::cerr.rdbuf(original); }
  } restore{std::cerr.rdbuf(&tracking)};
  // Each error is one string, so one write: ranks that share a terminal or a
  // pipe print whole lines, never their messages interleaved mid-line.
  auto& err = std::cerr;
  auto new_line = [&] {
    if (tracking.mid_line()) err << "\n";
  };
  try {
    return c.run(static_cast<int>(args.size()), args.data());
  } catch (const po::error& e) {
    new_line();
    err << full + ": " + e.what() + " (see '" + full + " --help')\n";
    return kExitUsage;
  } catch (const UsageError& e) {
    new_line();
    err << full + ": " + e.what() + " (see '" + full + " --help')\n";
    return kExitUsage;
  } catch (const InputError& e) {
    new_line();
    err << full + ": " + e.what() + "\n";
    return kExitUsage;
  } catch (const c10::Error& e) {
    new_line();
    err << full + ": " + e.what_without_backtrace() + "\n";
    return kExitFailure;
  } catch (const std::exception& e) {
    new_line();
    err << full + ": " + e.what() + "\n";
    return kExitFailure;
  }
}

void print_commands(const std::string& program, const std::string& description, const std::vector<Command>& commands) {
  std::cout << description << "\n\nUsage: " << program << " <command> [options]\n\nCommands:\n";
  size_t width = 0;  // the longest name and two spaces, so that no name runs into its summary
  for (const auto& c : commands) width = std::max(width, c.name.size() + 2);
  for (const auto& c : commands)
    std::cout << "  " << std::left << std::setw(static_cast<int>(width)) << c.name << c.summary << "\n";
  std::cout << "\nRun '" << program << " <command> --help' (or '" << program
            << " help <command>') for a command's options.\n";
}
}  // namespace

int dispatch(const std::string& program, const std::string& description, const std::vector<Command>& commands, int argc,
             char** argv) {
  if (argc == 3 && std::string(argv[1]) == "help" && std::string(argv[2]) == "--markdown") {
    markdown_help = true;
    std::cout << "# Command reference\n\nEvery command's flags, their defaults and what they set, written by `"
              << program << " help --markdown` from the commands' settings tables (a test compares this file "
              << "with that output). docs/CLI.md explains the vocabulary they share.\n\n";
    return print_markdown_commands(program, commands);
  }
  if (markdown_help && argc == 2 && std::string(argv[1]) == "--help") return print_markdown_commands(argv[0], commands);
  if (argc >= 3 && std::string(argv[1]) == "help") {  // `help CMD [SUB]` = `CMD [SUB] --help`
    std::vector<char*> args(argv, argv + argc);
    static char help_flag[] = "--help";
    args.erase(args.begin() + 1);
    args.push_back(help_flag);
    return dispatch(program, description, commands, static_cast<int>(args.size()), args.data());
  }
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" || std::string(argv[1]) == "help") {
    print_commands(program, description, commands);
    return argc < 2 ? kExitUsage : kExitOk;
  }
  const std::string name = argv[1];
  for (const auto& c : commands) {
    if (c.name != name) continue;
    std::string full = program + " " + name;
    std::vector<char*> args{full.data()};
    for (int i = 2; i < argc; ++i) args.push_back(argv[i]);
    const int code = run_command(c, full, args);
    if (code != kExitOk) remove_unused_created_folders();
    return code;
  }
  std::vector<std::string> names;
  for (const auto& c : commands) names.push_back(c.name);
  std::cerr << program << ": unknown command '" << name << "'" << base::did_you_mean(name, names) << "; known:";
  for (const auto& c : commands) std::cerr << " " << c.name;
  std::cerr << " (see '" << program << " --help')\n";
  return kExitUsage;
}

InputError non_finite_action(const std::string& file, const std::string& what, std::optional<double> target) {
  std::ostringstream line;
  line << file << ": " << what << "; the policy computes values past float's range (";
  if (target) line << "a target (" << *target << ") far beyond its data's returns, ";
  line << "a damaged file, or a run that diverged)";
  return InputError(line.str());
}

std::string format_duration(double s) {
  std::ostringstream os;
  const int64_t t = static_cast<int64_t>(s);
  if (t >= 3600) os << t / 3600 << "h";
  os << std::setw(t >= 3600 ? 2 : 1) << std::setfill('0') << (t % 3600) / 60 << "m" << std::setw(2) << t % 60 << "s";
  return os.str();
}

void require_writable(const std::string& flag, const std::string& path, bool folder) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path dir = folder ? fs::path(path) : fs::path(path).parent_path();
  if (!folder && fs::is_directory(path, ec))
    throw UsageError("--" + flag + " " + path + ": is a folder, expected a file name");
  if (folder && fs::exists(path, ec) && !fs::is_directory(path, ec))
    throw UsageError("--" + flag + " " + path + ": exists and is not a folder");
  if (!dir.empty() && !fs::exists(dir, ec)) {
    fs::path topmost = dir;  // the outermost folder this call creates
    while (topmost.has_parent_path() && topmost.parent_path() != topmost && !fs::exists(topmost.parent_path(), ec))
      topmost = topmost.parent_path();
    created_folders().push_back(topmost);
    fs::create_directories(dir, ec);
    if (ec)
      throw UsageError("--" + flag + " " + path + ": cannot create the folder " + dir.string() + " (" + ec.message() +
                       ")");
  }
  const fs::path probe = (dir.empty() ? fs::path(".") : dir) / (".aaren-write-probe." + std::to_string(::getpid()));
  {
    std::ofstream out(probe);
    if (!out) throw UsageError("--" + flag + " " + path + ": cannot write in " + (dir.empty() ? "." : dir.string()));
  }
  fs::remove(probe, ec);
}

void require_new_file(const std::string& flag, const std::string& path, bool overwrite) {
  std::error_code ec;
  if (overwrite || !std::filesystem::exists(path, ec)) return;
  throw UsageError("--" + flag + " " + path +
                   ": exists (left as it is); replace it with --overwrite, or choose another --" + flag);
}

void require_csv_name(const std::string& flag, const std::string& path) {
  if (std::filesystem::path(path).extension() != ".csv")
    throw UsageError("--" + flag + " " + path + ": expected a .csv file (the table is written as CSV)");
}

namespace {
// A table's record is FILE.config.json (FILE.csv's, as tables have always had); any other
// output's takes its whole name (a.policy.config.json, hopper.gif.config.json), so files that
// differ only in their extension (a.policy and a.lean, a.gif and a.mp4) each keep their own.
std::string record_beside(const std::string& path) {
  const std::filesystem::path p(path);
  return p.extension() == ".csv" ? std::filesystem::path(p).replace_extension(".config.json").string()
                                 : path + ".config.json";
}

// Why the record `record` is not `command`'s: empty where it is, or where there is none.
std::string foreign_record(const std::string& record, const std::string& command) {
  std::error_code ec;
  if (!std::filesystem::exists(record, ec)) return "";
  std::ifstream in(record);
  const auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  const bool named = j.is_object() && j.contains("command") && j.at("command").is_string();
  if (named && j.at("command") == command) return "";
  return named ? record + " names '" + j.at("command").get<std::string>() + "'"
               : record + " exists and is not an output's record";
}

[[noreturn]] void refuse_output(const std::string& flag, const std::string& path, const std::string& command,
                                const std::string& why) {
  throw UsageError("--" + flag + " " + path + ": not an earlier output of '" + command + "' (" + why +
                   "); left as it is: choose another --" + flag + ", or remove what is there");
}
}  // namespace

void require_table_output(const std::string& flag, const std::string& path, const std::string& command) {
  require_csv_name(flag, path);
  require_writable(flag, path);
  const auto record = record_beside(path);
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !std::filesystem::exists(record, ec))
    refuse_output(flag, path, command, path + " exists with no " + record + " beside it");
  const auto why = foreign_record(record, command);  // this command's earlier table is written over
  if (!why.empty()) refuse_output(flag, path, command, why);
}

void require_figure_output(const std::string& flag, const std::string& path, const std::string& command) {
  require_writable(flag, path);
  const auto why = foreign_record(record_beside(path), command);
  if (!why.empty()) refuse_output(flag, path, command, why);
}

std::string folder_record(const std::string& dir, const std::string& command) {
  auto name = command;
  std::replace(name.begin(), name.end(), ' ', '-');  // "bench train" -> bench-train.config.json
  return (std::filesystem::path(dir) / (name + ".config.json")).string();
}

void require_folder_output(const std::string& flag, const std::string& dir, const std::string& command,
                           const std::vector<std::string>& names) {
  require_writable(flag, dir, /*folder=*/true);
  const auto record = folder_record(dir, command);
  const auto why = foreign_record(record, command);
  if (!why.empty()) refuse_output(flag, dir, command, why);
  std::error_code ec;
  if (std::filesystem::exists(record, ec)) return;  // this command's earlier figures are drawn over
  for (const auto& name : names) {
    const auto file = (std::filesystem::path(dir) / name).string();
    if (std::filesystem::exists(file, ec))
      refuse_output(flag, dir, command, file + " exists with no " + record + " beside it");
  }
}

std::vector<std::string> run_files_in(const std::string& dir) {
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const auto name = entry.path().filename().string();
    const bool pt = entry.path().extension() == ".pt";
    if (name == "config.json" || name == "seeds.json" || name == "train_log.csv" || name == "eval.csv" ||
        name == "log.csv" || (pt && (name.rfind("checkpoint", 0) == 0 || name.rfind("policy_", 0) == 0)) ||
        name == "resume.pt")
      found.push_back(name);
  }
  std::sort(found.begin(), found.end());
  return found;
}

bool replaces_a_run_in(const std::string& out, bool overwrite, bool resumable) {
  const auto files = run_files_in(out);
  if (files.empty()) return false;
  if (overwrite) return true;
  std::string list;
  for (size_t i = 0; i < files.size() && i < 3; ++i) list += (i ? ", " : "") + files[i];
  // --resume is offered only where it would find what it continues from,
  // not for a run killed before it wrote any.
  throw UsageError("--out " + out + " holds a run (" + list + (files.size() > 3 ? ", ..." : "") + "); " +
                   (resumable ? "continue it with --resume " + out + ", " : std::string()) +
                   "replace it with --overwrite, or choose another --out");
}

RunAside::RunAside(const std::string& folder) {
  namespace fs = std::filesystem;
  fs::path p = fs::path(folder).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();  // "runs/a/": the folder "runs/a"
  if (p.empty() || p == "." || p.filename() == "..")
    throw UsageError("--out " + folder +
                     " --overwrite: the current folder or one above it is not replaced; give "
                     "the run's own folder");
  folder_ = p.string();
  std::error_code ec;
  // A name nothing holds (a killed run's aside, with a pid reused, stays where it is).
  for (int k = 0; aside_.empty() || fs::exists(aside_, ec); ++k)
    aside_ = folder_ + ".replaced." + std::to_string(::getpid()) + (k ? "." + std::to_string(k) : "");
  fs::rename(folder_, aside_, ec);
  if (ec) throw InputError("--overwrite: cannot move " + folder_ + " aside (" + ec.message() + ")");
}

void RunAside::commit() {
  if (aside_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(aside_, ec);
  aside_.clear();
}

RunAside::~RunAside() {
  if (aside_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(folder_, ec);
  std::filesystem::rename(aside_, folder_, ec);
}

void require_not_input(const std::string& flag, const std::string& out, const std::vector<std::string>& inputs) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& in : inputs) {
    const bool same = fs::exists(out, ec) ? fs::equivalent(out, in, ec)
                                          : fs::weakly_canonical(out, ec) == fs::weakly_canonical(in, ec);
    if (same) throw UsageError("--" + flag + " " + out + ": is also an input; write the result elsewhere");
  }
}

bool same_folder(const std::string& a, const std::string& b) {
  std::error_code ec;
  return std::filesystem::weakly_canonical(a.empty() ? "." : a, ec) ==
         std::filesystem::weakly_canonical(b.empty() ? "." : b, ec);
}

void save_config_next_to(const std::string& path, const nlohmann::json& config) {
  auto record = config;
  record["output"] = std::filesystem::path(path).filename().string();  // the one file it describes
  base::write_file_atomically(record_beside(path), record.dump(2) + "\n");
}

int max_threads() { return 4 * std::max(1, static_cast<int>(std::thread::hardware_concurrency())); }

// Ranges every command shares, by flag name: the cheap checks that must fail
// before any long work starts, not after it.
void check_flag_range(const std::string& name, double v, const std::string& shown) {
  auto fail = [&](const std::string& what) { throw UsageError("--" + name + " " + shown + ": " + what); };
  if (!std::isfinite(v)) fail("expected a finite number");
  if (name == "threads" || name == "env-threads") {
    if (v < 1) fail("expected at least 1");
    if (v > max_threads())
      fail("at most " + std::to_string(max_threads()) + " (4 x the " +
           std::to_string(std::thread::hardware_concurrency()) + " hardware threads of this machine)");
  } else if (name == "episodes" || name == "num-envs" || name == "eval-episodes" || name == "repeats") {
    if (v < 0) fail("expected a non-negative count");
    if (v > 1e6) fail("at most 1000000");
  } else if (name == "updates" || name == "steps" || name == "env-steps" || name == "transitions") {
    if (v < 0) fail("expected a non-negative count");
    if (v > 1e10) fail("at most 10000000000");
  }
}

namespace {

// The value of a parsed flag as text, for messages.
template <class T>
std::string text_of(const T& v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

// Boost parses "-1" into an unsigned flag as 2^64 - 1; a seed or count given
// as a negative number is a mistake, not a huge value.
bool negative_text(const po::parsed_options& parsed, const std::string& name) {
  for (const auto& o : parsed.options)
    if (o.string_key == name)
      for (const auto& v : o.value)
        if (!v.empty() && v[0] == '-') return true;
  return false;
}

void check_values(const po::parsed_options& parsed, const po::variables_map& vm) {
  for (const auto& [name, value] : vm) {
    if (value.defaulted() || value.empty()) continue;
    const auto& any = value.value();
    const auto& type = any.type();
    if (type == typeid(uint64_t) || type == typeid(uint32_t) || type == typeid(unsigned)) {
      if (negative_text(parsed, name))
        throw UsageError("--" + name + ": expected a non-negative integer (up to 2^64 - 1), got a negative number");
      const double v = type == typeid(uint64_t)   ? static_cast<double>(boost::any_cast<uint64_t>(any))
                       : type == typeid(uint32_t) ? static_cast<double>(boost::any_cast<uint32_t>(any))
                                                  : static_cast<double>(boost::any_cast<unsigned>(any));
      if (name != "seed") check_flag_range(name, v, text_of(v));
    } else if (type == typeid(int)) {
      check_flag_range(name, boost::any_cast<int>(any), text_of(boost::any_cast<int>(any)));
    } else if (type == typeid(int64_t)) {
      check_flag_range(name, static_cast<double>(boost::any_cast<int64_t>(any)),
                       text_of(boost::any_cast<int64_t>(any)));
    } else if (type == typeid(double)) {
      check_flag_range(name, boost::any_cast<double>(any), text_of(boost::any_cast<double>(any)));
    } else if (type == typeid(float)) {
      check_flag_range(name, boost::any_cast<float>(any), text_of(boost::any_cast<float>(any)));
    } else if (type == typeid(std::vector<int>)) {
      for (int v : boost::any_cast<std::vector<int>>(any)) check_flag_range(name, v, text_of(v));
    } else if (type == typeid(std::vector<int64_t>)) {
      for (int64_t v : boost::any_cast<std::vector<int64_t>>(any))
        check_flag_range(name, static_cast<double>(v), text_of(v));
    } else if (type == typeid(std::vector<double>)) {
      for (double v : boost::any_cast<std::vector<double>>(any)) check_flag_range(name, v, text_of(v));
    }
  }
}

}  // namespace

bool parse(int argc, char** argv, const std::string& usage, po::options_description& options, po::variables_map& vm,
           const po::positional_options_description* positional) {
  options.add_options()("help,h", "show this help");
  po::command_line_parser parser(argc, argv);
  parser.options(options);
  if (positional) parser.positional(*positional);
  po::parsed_options parsed(&options);
  try {
    parsed = parser.run();
  } catch (const po::unknown_option& e) {
    std::vector<std::string> flags;
    for (const auto& option : options.options()) flags.push_back("--" + option->long_name());
    throw UsageError(std::string(e.what()) + base::did_you_mean(e.get_option_name(), flags));
  }
  po::store(parsed, vm);
  if (vm.count("help")) {
    if (markdown_help)
      print_markdown_options(argv[0], usage, options);
    else
      std::cout << "Usage: " << argv[0] << " " << usage << "\n\n" << options << "\n";
    return false;
  }
  check_values(parsed, vm);
  po::notify(vm);
  return true;
}

}  // namespace aaren::cli
