// aaren: offline RL with Aaren backbones. One subcommand per file in apps/.
#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/provenance.h"

#include <iostream>
#include <string>
#include "base/blas_kernels.h"
#include "base/float_env.h"

int main(int argc, char** argv) {
  const std::string unreproducible = aaren::base::apply_reproducible_mode();  // first: it pins the kernels
  if (!unreproducible.empty()) {
    std::cerr << "error: " << unreproducible << "\n";
    return 2;
  }
  aaren::base::prefer_native_blas_kernels();    // before any matrix product
  aaren::base::flush_subnormals_unless_kept();  // before any thread starts: they inherit it
  if (argc == 2 && (std::string(argv[1]) == "--version" || std::string(argv[1]) == "version")) {
    std::cout << aaren::cli::version_line() << "\n";
    return 0;
  }
  const std::vector<aaren::cli::Command> commands{
      {"train", "train a decision agent offline (Aaren, Transformer or LSTM backbone)", aaren::cli::run_train},
      {"compare", "roll out trained agents side by side: score, time per step, memory", aaren::cli::run_compare},
      {"export", "write an Aaren or LSTM agent as a lean policy file (the LibTorch-free runtime)",
       aaren::cli::run_export},
      {"plot", "draw the evaluation curves of runs and seed groups in one figure", aaren::cli::run_plot},
      {"versus", "compare two arms over seeds per dataset: Welch intervals, equivalence verdicts, pooled difference",
       aaren::cli::run_versus},
      {"envs", "list the environments (names, dims, D4RL score references)", aaren::cli::run_envs},
      {"backbones", "list the backbones (how each trains and acts)", aaren::cli::run_backbones},
      {"rollout", "run a policy in an environment: returns and normalised scores", aaren::cli::run_rollout},
      {"loss", "a trained agent's action error on a dataset (its fit, or on fresh data its overfitting)",
       aaren::cli::run_loss},
      {"sac", "train a Soft Actor-Critic behaviour policy online", aaren::cli::run_sac},
      {"collect", "roll out a behaviour policy into a D4RL-layout .hdf5 file", aaren::cli::run_collect},
      {"data", "inspect and validate D4RL / Minari HDF5 files", aaren::cli::run_data},
      {"bench", "measure speed, memory and accuracy (bench scan, ...)", aaren::cli::run_bench},
  };
  return aaren::cli::dispatch("aaren",
                              "aaren: offline reinforcement learning with Aaren (attention as an RNN) backbones",
                              commands, argc, argv);
}
