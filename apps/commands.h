// Entry points of the subcommands (argv[0] is the command's full name).
#pragma once

namespace aaren::cli {
int run_bench(int argc, char** argv);
int run_data(int argc, char** argv);
int run_envs(int argc, char** argv);
int run_backbones(int argc, char** argv);
int run_rollout(int argc, char** argv);
int run_sac(int argc, char** argv);
int run_collect(int argc, char** argv);
int run_train(int argc, char** argv);
int run_compare(int argc, char** argv);
int run_export(int argc, char** argv);
int run_plot(int argc, char** argv);
int run_versus(int argc, char** argv);
int run_loss(int argc, char** argv);
}  // namespace aaren::cli
