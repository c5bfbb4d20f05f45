// This program started again as a child (a rank of `train --nproc`, a seed of
// `train --seeds`), and how a child ended.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace aaren::base {

// Starts /proc/self/exe with `args` (args[0]: the name it is shown by) and the
// environment `env` ("NAME=value" entries; empty: this process's), in a process
// group of its own: a terminal's Ctrl-C then reaches the parent alone, which
// forwards it once (a child that also got the terminal's would take the second
// signal as "stop at once", before its checkpoint). With `log`, the child's
// stdout and stderr are appended there. Returns posix_spawn's error (0: started).
int spawn_self(pid_t& pid, std::vector<std::string> args, std::vector<std::string> env = {},
               const std::string& log = "");

// A waitpid status as an exit code: the code, or 128 + the signal that ended it.
int exit_code(int status);

}  // namespace aaren::base
