#include "bench/env_bench.h"

#include <mujoco/mujoco.h>

#include <ostream>
#include <random>

#include "envs/mujoco_env.h"
#include "envs/registry.h"
#include "envs/vector_env.h"

namespace aaren::bench {

const std::vector<base::ConfigField<EnvBenchConfig>>& EnvBenchConfig::fields() {
  using C = EnvBenchConfig;
  using base::field;
  static const std::vector<base::ConfigField<C>> table{
      field("envs", &C::envs, "environments"),
      field("steps", &C::steps, "single-env steps per env"),
      field("num-envs", &C::num_envs, "vectorised: envs stepped together"),
      field("vector-steps", &C::vector_steps, "vectorised: steps per thread count"),
      field("env-threads", &C::threads, "env thread counts for the vectorised measurement"),
      field("seed", &C::seed, "random seed"),
  };
  return table;
}

nlohmann::json EnvBenchConfig::to_json() const { return base::fields_to_json(*this, fields()); }

Table run_env_bench(const EnvBenchConfig& c, std::ostream* progress) {
  Table table;
  table.columns = {"env", "raw_us_per_step", "env_us_per_step", "overhead", "frame_skip"};
  for (int t : c.threads)
    table.columns.push_back("vec" + std::to_string(c.num_envs) + "_t" + std::to_string(t) + "_steps_per_s");
  if (c.threads.size() > 1) table.columns.push_back("thread_speedup");

  for (const auto& name : c.envs) {
    // One env and, on the same model, a bare mjData stepped with mj_step x
    // frame_skip and the same actions: same states, so the same physics
    // work; the difference is our layer (clipping, reward, observation,
    // termination, warnings). Steps are timed one by one, interleaved.
    auto env_ptr = envs::make_env(name);
    auto& env = dynamic_cast<envs::MujocoEnv&>(*env_ptr);
    const mjModel* m = env.model();
    mjData* raw = mj_makeData(m);
    env.seed(c.seed);
    std::mt19937_64 rng(c.seed);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    std::vector<double> action(env.act_dim());
    auto sync_raw = [&] {
      const auto q = env.qpos(), v = env.qvel();
      mj_resetData(m, raw);
      std::copy(q.begin(), q.end(), raw->qpos);
      std::copy(v.begin(), v.end(), raw->qvel);
      mj_forward(m, raw);
    };
    env.reset();
    sync_raw();
    double env_s = 0, raw_s = 0;
    for (int64_t s = 0; s < c.steps; ++s) {
      for (auto& a : action) a = u(rng);
      double t0 = now_seconds();
      const auto r = env.step(action);
      env_s += now_seconds() - t0;
      t0 = now_seconds();
      std::copy(action.begin(), action.end(), raw->ctrl);
      for (int k = 0; k < env.frame_skip(); ++k) mj_step(m, raw);
      raw_s += now_seconds() - t0;
      if (r.done()) {
        env.reset();
        sync_raw();
      }
    }
    mj_deleteData(raw);
    const double env_us = 1e6 * env_s / c.steps, raw_us = 1e6 * raw_s / c.steps;
    std::vector<Cell> row{name, raw_us, env_us, env_us / raw_us, static_cast<int64_t>(env.frame_skip())};

    std::vector<double> rates;
    for (int threads : c.threads) {
      envs::VectorEnv venv(name, c.num_envs, {}, c.seed, threads);
      venv.reset();
      std::vector<double> actions(c.num_envs * venv.act_dim());
      const double t0 = now_seconds();
      for (int64_t s = 0; s < c.vector_steps; ++s) {
        for (auto& a : actions) a = u(rng);
        venv.step(actions.data());
      }
      rates.push_back(c.num_envs * c.vector_steps / (now_seconds() - t0));
      row.push_back(rates.back());
    }
    if (c.threads.size() > 1) row.push_back(rates.back() / rates.front());
    table.add_row(row);
    if (progress)
      *progress << "[bench env] " << name << ": env " << env_us << " µs/step, raw " << raw_us << " µs/step"
                << std::endl;
  }
  return table;
}

}  // namespace aaren::bench
