// A config's field table (base/config_fields.h) as command-line options:
// one --flag per field with its help and default, parsed strictly into the
// struct. The commands add their own few non-config flags beside them.
#pragma once

#include <boost/program_options.hpp>

#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "apps/cli.h"
#include "base/config_fields.h"

namespace aaren::cli {

// Adds --<flag> for every field, showing the value in `defaults` as the
// default (fields listed in `required` show none and must be given).
template <class Config>
void add_config_options(boost::program_options::options_description& options,
                        const std::vector<base::ConfigField<Config>>& fields, const Config& defaults,
                        const std::set<std::string>& required = {}) {
  namespace po = boost::program_options;
  for (const auto& f : fields) {
    if (!f.on_command_line) continue;
    if (f.type == base::FieldType::kList) {  // --flag A B C, or the flag repeated (or plain arguments)
      auto* list = po::value<std::vector<std::string>>()->multitoken()->composing()->value_name("A B ...");
      const auto shown = base::display_value(f.get(defaults));
      if (required.count(f.flag))
        list->required();
      else if (!shown.empty())
        list->default_value({}, shown);
      options.add_options()(f.flag.c_str(), list, f.help.c_str());
      continue;
    }
    if (f.is_switch) {  // a bare --flag
      options.add_options()(f.flag.c_str(), po::value<std::string>()->zero_tokens()->implicit_value("1"),
                            f.help.c_str());
      continue;
    }
    // What to type, by kind: --updates N, --lr X, --fused-norm 0|1.
    const char* value_name = f.type == base::FieldType::kInteger || f.type == base::FieldType::kUnsigned ? "N"
                             : f.type == base::FieldType::kNumber                                        ? "X"
                             : f.type == base::FieldType::kBool                                          ? "0|1"
                                                                                                         : "arg";
    auto* value = po::value<std::string>()->value_name(value_name);
    const auto current = f.get(defaults);
    const auto shown = current.is_boolean() ? std::string(current.template get<bool>() ? "1" : "0")  // as typed: 0|1
                                            : base::display_value(current);
    if (required.count(f.flag))
      value->required();
    else if (!shown.empty() && shown != "null")
      value->default_value(shown);
    if (!f.implicit.empty()) value->implicit_value(f.implicit);
    options.add_options()(f.flag.c_str(), value, f.help.c_str());
  }
}

// Sets every field given on the command line (not the defaults shown) and
// returns their flags. Numbers are also held to the ranges every command
// shares (check_flag_range). Throws UsageError naming the flag and the value.
template <class Config>
std::set<std::string> apply_config_options(const boost::program_options::variables_map& vm,
                                           const std::vector<base::ConfigField<Config>>& fields, Config& config) {
  using base::FieldType;
  std::set<std::string> given;
  for (const auto& f : fields) {
    const auto it = vm.find(f.flag);
    if (it == vm.end() || it->second.defaulted()) continue;
    std::string text;
    if (f.text_items) {  // words kept whole: a label may hold spaces
      f.set_json(config, nlohmann::json(it->second.template as<std::vector<std::string>>()));
      given.insert(f.flag);
      continue;
    }
    if (f.type == FieldType::kList) {
      for (const auto& item : it->second.template as<std::vector<std::string>>()) {
        text += (text.empty() ? "" : " ") + item;
        double v = 0;  // numbers in a list are held to the flag's shared range too (--env-threads 1 2)
        if (base::parse_real(item, v)) check_flag_range(f.flag, v, item);
      }
    } else {
      text = it->second.template as<std::string>();
    }
    if (f.type == FieldType::kUnsigned && !text.empty() && text[0] == '-')
      throw UsageError("--" + f.flag + ": expected a non-negative integer (up to 2^64 - 1), got a negative number");
    try {
      f.set_text(config, text);
    } catch (const std::invalid_argument& e) {
      throw UsageError("--" + f.flag + (f.type == FieldType::kEnum ? " " : " " + text + ": ") + e.what());
    }
    if (f.type == FieldType::kInteger || f.type == FieldType::kUnsigned || f.type == FieldType::kNumber)
      check_flag_range(f.flag, std::strtod(text.c_str(), nullptr), text);
    // (List items are parsed strictly; their ranges are the config's validate().)
    given.insert(f.flag);
  }
  return given;
}

// A command whose settings are one field table: its flags come from the
// table (the values `config` holds shown as defaults), `parse` reads the
// command line (false after --help), and the flags given are set in
// `config`. `extra` adds flags that are not settings (e.g. --config);
// `positional` maps plain arguments to a flag.
template <class Config>
bool parse_config(int argc, char** argv, const std::string& usage, const std::vector<base::ConfigField<Config>>& fields,
                  Config& config, boost::program_options::variables_map& vm,
                  const boost::program_options::positional_options_description* positional = nullptr,
                  const std::set<std::string>& required = {}) {
  boost::program_options::options_description options("Options");
  add_config_options(options, fields, config, required);
  if (!parse(argc, argv, usage, options, vm, positional)) return false;
  apply_config_options(vm, fields, config);
  return true;
}

// The settings of a command that only lists (envs, backbones, data list).
struct ListingOptions {
  bool json = false;

  static const std::vector<base::ConfigField<ListingOptions>>& fields() {
    static const std::vector<base::ConfigField<ListingOptions>> table{
        base::field("json", &ListingOptions::json, "print JSON instead of the table", {"", false, std::nullopt, true}),
    };
    return table;
  }
};

// The flag was given on the command line (not a default).
inline bool given(const boost::program_options::variables_map& vm, const std::string& flag) {
  const auto it = vm.find(flag);
  return it != vm.end() && !it->second.defaulted();
}

}  // namespace aaren::cli
