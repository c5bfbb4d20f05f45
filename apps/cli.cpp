#include "apps/cli.h"

#include <c10/util/Exception.h>

#include <iomanip>
#include <sstream>
#include <iostream>

namespace aaren::cli {

namespace po = boost::program_options;

namespace {
void print_commands(const std::string& program, const std::string& description,
                    const std::vector<Command>& commands) {
  std::cout << description << "\n\nUsage: " << program << " <command> [options]\n\nCommands:\n";
  for (const auto& c : commands) std::cout << "  " << std::left << std::setw(12) << c.name << c.summary << "\n";
  std::cout << "\nRun '" << program << " <command> --help' for a command's options.\n";
}
}  // namespace

int dispatch(const std::string& program, const std::string& description, const std::vector<Command>& commands,
             int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" ||
      std::string(argv[1]) == "help") {
    print_commands(program, description, commands);
    return argc < 2 ? kExitUsage : kExitOk;
  }
  const std::string name = argv[1];
  for (const auto& c : commands) {
    if (c.name != name) continue;
    std::string full = program + " " + name;
    std::vector<char*> args{full.data()};
    for (int i = 2; i < argc; ++i) args.push_back(argv[i]);
    try {
      return c.run(static_cast<int>(args.size()), args.data());
    } catch (const po::error& e) {
      std::cerr << full << ": " << e.what() << " (see '" << full << " --help')\n";
      return kExitUsage;
    } catch (const UsageError& e) {
      std::cerr << full << ": " << e.what() << " (see '" << full << " --help')\n";
      return kExitUsage;
    } catch (const InputError& e) {
      std::cerr << full << ": " << e.what() << "\n";
      return kExitUsage;
    } catch (const c10::Error& e) {
      std::cerr << full << ": " << e.what_without_backtrace() << "\n";
      return kExitFailure;
    } catch (const std::exception& e) {
      std::cerr << full << ": " << e.what() << "\n";
      return kExitFailure;
    }
  }
  std::cerr << program << ": unknown command '" << name << "'; known:";
  for (const auto& c : commands) std::cerr << " " << c.name;
  std::cerr << " (see '" << program << " --help')\n";
  return kExitUsage;
}

std::string format_duration(double s) {
  std::ostringstream os;
  const int64_t t = static_cast<int64_t>(s);
  if (t >= 3600) os << t / 3600 << "h";
  os << std::setw(t >= 3600 ? 2 : 1) << std::setfill('0') << (t % 3600) / 60 << "m" << std::setw(2) << t % 60 << "s";
  return os.str();
}

bool parse(int argc, char** argv, const std::string& usage, po::options_description& options, po::variables_map& vm,
           const po::positional_options_description* positional) {
  options.add_options()("help,h", "show this help");
  po::command_line_parser parser(argc, argv);
  parser.options(options);
  if (positional) parser.positional(*positional);
  po::store(parser.run(), vm);
  if (vm.count("help")) {
    std::cout << "Usage: " << argv[0] << " " << usage << "\n\n" << options << "\n";
    return false;
  }
  po::notify(vm);
  return true;
}

}  // namespace aaren::cli
