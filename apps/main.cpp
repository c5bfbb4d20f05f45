// aaren: offline RL with Aaren backbones. One subcommand per file in apps/.
#include "apps/cli.h"
#include "apps/commands.h"

int main(int argc, char** argv) {
  const std::vector<aaren::cli::Command> commands{
      {"bench", "measure speed, memory and accuracy (bench scan, ...)", aaren::cli::run_bench},
  };
  return aaren::cli::dispatch("aaren", "aaren: offline reinforcement learning with Aaren (attention as an RNN) backbones",
                              commands, argc, argv);
}
