// aaren export: a trained agent as a lean policy file, for the LibTorch-free
// runtime (runtime/lean_policy.h, aaren-lean-example): backbones whose
// descriptor says the runtime runs them (Aaren, LSTM).
#include <iostream>

#include "agents/acting/lean_export.h"
#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/config_options.h"
#include "apps/provenance.h"
#include "base/file_hash.h"

namespace aaren::cli {

namespace {
// export's settings, one described field each (flags, --help, docs/CLI-REFERENCE.md).
struct ExportOptions {
  std::string checkpoint, out;
  bool overwrite = false;

  static const std::vector<base::ConfigField<ExportOptions>>& fields() {
    using O = ExportOptions;
    static const std::vector<base::ConfigField<O>> table{
        base::field("checkpoint", &O::checkpoint,
                    "an agent from 'aaren train' (Aaren or LSTM: 'aaren backbones', column lean)"),
        base::field("out", &O::out, "the policy file to write"),
        base::field("overwrite", &O::overwrite, "replace --out if it exists (refused without it)",
                    {"", false, std::nullopt, true}),
    };
    return table;
  }
};
}  // namespace

int run_export(int argc, char** argv) {
  ExportOptions o;
  boost::program_options::variables_map vm;
  if (!parse_config(argc, argv, "--checkpoint FILE --out POLICY", ExportOptions::fields(), o, vm, nullptr,
                    {"checkpoint", "out"}))
    return kExitOk;
  const auto& [checkpoint, out, overwrite] = o;
  require_not_input("out", out, {checkpoint});
  require_new_file("out", out, overwrite);
  require_figure_output("out", out,
                        "export");  // its record, OUT.config.json (OUT's whole name), replaces only export's
  LoadedAgent agent;
  try {
    agent = load_checkpoint(checkpoint);
  } catch (const std::runtime_error& e) {
    throw InputError(e.what());
  }
  lean::PolicyFile file;
  try {
    file = to_policy_file(agent);
  } catch (const std::invalid_argument& e) {
    throw UsageError(checkpoint + ": " + e.what());
  }
  try {
    lean::Model::from_file(file, out);  // what the runtime will refuse is not written
    lean::write_policy_file(out, file);
    const auto model = lean::Model::load(out);  // read back as the runtime reads it
    save_config_next_to(out, {{"command", "export"},
                              {"config", base::fields_to_json(o, ExportOptions::fields())},
                              {"checkpoint", base::file_identity(checkpoint)},
                              {"trained_updates", agent.update},
                              {"trained_with", agent.config.to_json()},
                              {"provenance", provenance(argc, argv)}});
    std::cout << "wrote " << out << ": " << model->env << ", " << model->backbone << " " << model->d_model << "-d x "
              << model->n_layers << " layers x " << model->n_heads << " heads, " << file.tensors.size() << " tensors, "
              << model->weight_bytes() << " weight bytes as packed by the runtime\n";
  } catch (const lean::PolicyFileError& e) {
    throw InputError(e.what());
  }
  return kExitOk;
}

}  // namespace aaren::cli
