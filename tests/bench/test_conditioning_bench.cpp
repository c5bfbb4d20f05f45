// The conditioning probe against an independent computation: Aaren's action
// by its recurrent step, token by token as when acting; the Transformer's on a
// window cut by hand; derivatives against central finite differences.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "agents/checkpoint/checkpoint.h"
#include "base/table.h"
#include "bench/conditioning_bench.h"
#include "data/hdf5_io.h"
#include "data/trajectory_dataset.h"
#include "tests/agents/decision_test_support.h"
#include "tests/data/fixtures.h"

namespace {

aaren::LoadedAgent random_agent(const std::string& kind, const aaren::data::TrajectoryDataset& d) {
  aaren::LoadedAgent agent;
  agent.config.backbone = aaren::testing::backbone_kind(kind);
  agent.config.context = 7;  // a window shorter than the probed steps
  agent.config.max_ep_len = 1000;
  aaren::DecisionConfig c;
  c.state_dim = d.obs_dim(), c.act_dim = d.act_dim(), c.context = agent.config.context;
  c.backbone.kind = agent.config.backbone;
  c.backbone.d_model = 32, c.backbone.n_layers = 2, c.backbone.n_heads = 2, c.backbone.dropout = 0.0;
  agent.model = aaren::DecisionPolicy(c);
  agent.model->eval();
  agent.normalizer = {torch::tensor(d.state_mean()), torch::tensor(d.state_inv_std())};
  agent.env = "hopper";
  return agent;
}

// a_t as the agent computes it when acting, with the return token of step t
// moved by `nudge` (scaled units). Aaren: the recurrent step from t = 0;
// the Transformer: a window of the last K steps, built here from the raw rows.
std::vector<double> act_at(aaren::LoadedAgent& agent, const aaren::data::TrajectoryDataset& d, int64_t episode,
                           int64_t t, double target, double nudge) {
  torch::NoGradGuard no_grad;
  const auto& e = d.episodes()[episode];
  const double scale = agent.config.return_scale;
  const int64_t S = d.obs_dim(), A = d.act_dim();
  auto row = [&](const float* p, int64_t n) { return torch::from_blob(const_cast<float*>(p), {n}).clone(); };
  std::vector<double> rewards_before(t + 1, 0.0);
  for (int64_t j = 1; j <= t; ++j) rewards_before[j] = rewards_before[j - 1] + d.reward(e.start + j - 1);
  auto rtg = [&](int64_t j) { return (target - rewards_before[j]) / scale + (j == t ? nudge : 0.0); };
  torch::Tensor a;
  if (agent.config.backbone == aaren::BackboneKind::kAaren) {
    auto state = agent.model->initial_state(1);
    auto previous = torch::zeros({1, A});
    for (int64_t j = 0; j <= t; ++j) {
      const auto s = agent.normalizer.apply(row(d.observation(e.start + j), S)).unsqueeze(0);
      a = agent.model->act(previous, torch::full({1}, rtg(j)), s, torch::full({1}, j, torch::kInt64),
                           torch::full({1}, j == 0, torch::kBool), state);
      previous = row(d.action(e.start + j), A).unsqueeze(0);  // teacher forcing: the dataset's action
    }
    a = a.squeeze(0);
  } else {
    const int64_t first = std::max<int64_t>(0, t - agent.config.context + 1), n = t - first + 1;
    std::vector<torch::Tensor> s, act;
    std::vector<float> r;
    std::vector<int64_t> ts;
    for (int64_t j = first; j <= t; ++j) {
      s.push_back(agent.normalizer.apply(row(d.observation(e.start + j), S)));
      act.push_back(row(d.action(e.start + j), A));
      r.push_back(static_cast<float>(rtg(j)));
      ts.push_back(j);
    }
    a = agent.model
            ->forward(torch::stack(s).unsqueeze(0), torch::stack(act).unsqueeze(0), torch::tensor(r).unsqueeze(0),
                      torch::tensor(ts).unsqueeze(0))
            .select(1, n - 1)
            .squeeze(0);
  }
  return {a.data_ptr<float>(), a.data_ptr<float>() + A};
}

double distance(const std::vector<double>& x, const std::vector<double>& y, double over = 1.0) {
  double s = 0;
  for (size_t i = 0; i < x.size(); ++i) s += (x[i] - y[i]) * (x[i] - y[i]);
  return std::sqrt(s) / over;
}

}  // namespace

TEST_CASE("conditioning probe: actions as when acting, derivatives == finite differences", "[bench][conditioning]") {
  torch::manual_seed(GENERATE(1, 2));
  const auto kind = GENERATE(std::string("aaren"), std::string("transformer"));
  const auto t_raw = aaren::data::read_dataset(AAREN_SOURCE_DIR "/data/bundled/hopper-mixed-v0.hdf5");
  const aaren::data::TrajectoryDataset d(t_raw, aaren::data::split_episodes(t_raw));
  int64_t episode = 0;  // the longest episode
  for (int64_t k = 0; k < d.num_episodes(); ++k)
    if (d.episodes()[k].length > d.episodes()[episode].length) episode = k;
  auto agent = random_agent(kind, d);
  const double high = 3600, low = 1800, h = 0.02;  // h: finite-difference step, scaled units (20 return)
  for (int64_t t : {int64_t{0}, int64_t{5}, int64_t{40}, d.episodes()[episode].length - 1}) {
    CAPTURE(kind, t);
    const auto p = aaren::bench::probe_conditioning(agent, d, episode, t, high, low);
    const auto a = act_at(agent, d, episode, t, high, 0);
    REQUIRE(distance(p.action, a) < 1e-5);
    // d a_t / d G: every return token moves with G.
    const double step = h * agent.config.return_scale;
    const double fd_target =
        distance(act_at(agent, d, episode, t, high + step, 0), act_at(agent, d, episode, t, high - step, 0), 2 * h);
    CHECK(p.d_target == Approx(fd_target).epsilon(0.02).margin(2e-4));
    // d a_t / d R_t: the current return token alone.
    const double fd_current =
        distance(act_at(agent, d, episode, t, high, h), act_at(agent, d, episode, t, high, -h), 2 * h);
    CHECK(p.d_current == Approx(fd_current).epsilon(0.02).margin(2e-4));
    CHECK(p.shift == Approx(distance(a, act_at(agent, d, episode, t, low, 0))).epsilon(1e-3).margin(1e-5));
    if (t == 0) CHECK(p.d_target == Approx(p.d_current).epsilon(1e-4));  // one return token only
    CHECK(p.d_target > 0);
  }
}

// The bench's row against the probe run here on every episode it can draw: the mean
// over episodes and the sample std (divisor n - 1), order-free, so the draw's order
// does not matter when it takes them all.
TEST_CASE("conditioning bench: a row is the mean and sample std (n - 1) of the probe over its episodes",
          "[bench][conditioning]") {
  torch::manual_seed(3);
  const std::string dataset = AAREN_SOURCE_DIR "/data/bundled/hopper-mixed-v0.hdf5";
  const auto t_raw = aaren::data::read_dataset(dataset);
  const aaren::data::TrajectoryDataset d(t_raw, aaren::data::split_episodes(t_raw));
  auto agent = random_agent("aaren", d);
  agent.config.embed_dim = 32, agent.config.n_layers = 2, agent.config.n_heads = 2, agent.config.dropout = 0.0;
  const auto path = aaren::testing::temp_dir("conditioning_bench") + "/agent.pt";
  aaren::save_checkpoint(path, agent.model, agent.config, agent.normalizer, agent.env, /*update=*/0);
  aaren::bench::ConditioningBenchConfig config;
  config.checkpoints = {path}, config.dataset = dataset, config.times = {120};
  config.episodes = 1000;  // more than there are: every episode longer than 120 steps
  const auto table = aaren::bench::run_conditioning_bench(config, nullptr);
  REQUIRE(table.rows.size() == 1);
  auto loaded = aaren::load_checkpoint(path);
  std::vector<double> d_target;
  for (int64_t k = 0; k < d.num_episodes(); ++k)
    if (d.episodes()[k].length > 120)
      d_target.push_back(aaren::bench::probe_conditioning(loaded, d, k, 120, 3600, 1800).d_target);
  REQUIRE(d_target.size() >= 3);
  double mean = 0, squares = 0;
  for (double x : d_target) mean += x / d_target.size();
  for (double x : d_target) squares += (x - mean) * (x - mean);
  const auto column = [&](const std::string& name) {
    const auto at = std::find(table.columns.begin(), table.columns.end(), name) - table.columns.begin();
    return aaren::base::as_number(table.rows[0].at(at));
  };
  CHECK(column("episodes") == static_cast<double>(d_target.size()));
  CHECK(column("d_target") == Approx(mean).epsilon(1e-9));
  CHECK(column("d_target_std") == Approx(std::sqrt(squares / (d_target.size() - 1))).epsilon(1e-9));
}
