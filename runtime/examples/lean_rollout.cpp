// A whole program on the lean runtime: load a policy exported by
// `aaren export`, roll it out in its MuJoCo env, print returns and D4RL
// scores. Links the runtime and the envs only — no LibTorch.
//
//   aaren-lean-example POLICY [EPISODES] [SEED] [TARGET_RETURN]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "envs/d4rl_scores.h"
#include "envs/registry.h"
#include "runtime/lean_policy.h"

int main(int argc, char** argv) {
  if (argc < 2 || argc > 5 || std::string(argv[1]) == "-h" || std::string(argv[1]) == "--help") {
    std::fprintf(stderr, "usage: %s POLICY [EPISODES=10] [SEED=0] [TARGET_RETURN=the policy's]\n", argv[0]);
    return argc < 2 ? 2 : 0;
  }
  try {
    const auto model = aaren::lean::Model::load(argv[1]);
    const long episodes = argc > 2 ? std::strtol(argv[2], nullptr, 10) : 10;
    const unsigned long seed = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 0;
    const double target = argc > 4 ? std::strtod(argv[4], nullptr) : 0.0;
    if (episodes < 1) throw std::invalid_argument("EPISODES must be >= 1");
    auto env = aaren::envs::make_env(model->env);
    env->seed(seed);
    aaren::lean::Policy policy(model, target);  // all of the policy's memory, allocated once
    const auto reference = aaren::envs::score_reference_for(model->env);
    std::vector<double> action(model->act_dim);
    double policy_seconds = 0, total = 0;
    long steps = 0;
    for (long e = 0; e < episodes; ++e) {
      const double* obs = env->reset().data();
      policy.reset();
      double episode_return = 0;
      for (bool done = false; !done; ++steps) {
        const auto t0 = std::chrono::steady_clock::now();
        policy.act(obs, action.data());
        policy_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const auto r = env->step(action);
        policy.observe(r.reward);
        episode_return += r.reward;
        obs = env->observation().data();
        done = r.done();
      }
      total += episode_return;
      std::printf("episode %ld: return %.1f", e + 1, episode_return);
      if (reference) std::printf(", normalised score %.1f", reference->normalize(episode_return));
      std::printf("\n");
    }
    std::printf("%s: mean return %.1f over %ld episodes; policy %.1f us per env step; state %lld bytes\n",
                model->env.c_str(), total / episodes, episodes, 1e6 * policy_seconds / steps,
                static_cast<long long>(policy.state_bytes()));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "aaren-lean-example: %s\n", e.what());
    return 2;
  }
}
