// The smallest controller on the installed lean runtime: load a policy file,
// act for a few steps on a fixed observation, print the actions. Exit 0 when
// every action is finite and inside (-1, 1), as the policy's tanh head gives.
#include <cmath>
#include <cstdio>
#include <exception>
#include <vector>

#include "runtime/lean_policy.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s POLICY\n", argv[0]);
    return 2;
  }
  try {
    const auto model = aaren::lean::Model::load(argv[1]);
    aaren::lean::Policy policy(model, 0.0);
    std::vector<double> observation(model->state_dim, 0.1), action(model->act_dim);
    for (int step = 0; step < 5; ++step) {
      policy.act(observation.data(), action.data());
      policy.observe(1.0);
      for (double a : action) {
        if (!std::isfinite(a) || std::abs(a) >= 1) return 1;
        std::printf("%.6f ", a);
      }
      std::printf("\n");
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lean_consumer: %s\n", e.what());
    return 2;
  }
}
