// Trajectory dataset: returns-to-go, statistics and batch assembly.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <set>

#include "data/trajectory_dataset.h"

using aaren::data::BatchOptions;
using aaren::data::EpisodeSampler;
using aaren::data::TrajectoryDataset;
using aaren::data::Transitions;
using aaren::data::WindowSampler;

namespace {
// Episodes of the given lengths; observation i = (i, 2i), action i = -i,
// reward i = i + 1 (global step index i).
Transitions make(const std::vector<int64_t>& lengths) {
  Transitions t;
  t.obs_dim = 2, t.act_dim = 1;
  for (auto len : lengths) {
    for (int64_t k = 0; k < len; ++k) {
      const auto i = static_cast<float>(t.size);
      t.observations.insert(t.observations.end(), {i, 2 * i});
      t.actions.push_back(-i);
      t.rewards.push_back(i + 1);
      t.terminals.push_back(0);
      t.timeouts.push_back(k == len - 1);
      ++t.size;
    }
  }
  t.has_timeouts = true;
  return t;
}
}  // namespace

TEST_CASE("dataset: returns-to-go and state statistics by hand", "[data]") {
  const auto t = make({3, 2});
  const TrajectoryDataset d(t, aaren::data::split_episodes(t));
  // Rewards 1,2,3 | 4,5.
  CHECK(d.return_to_go(0) == 6.0f);
  CHECK(d.return_to_go(1) == 5.0f);
  CHECK(d.return_to_go(2) == 3.0f);
  CHECK(d.return_to_go(3) == 9.0f);
  CHECK(d.return_to_go(4) == 5.0f);
  CHECK(d.episode_of(2) == 0);
  CHECK(d.episode_of(3) == 1);
  // States (i, 2i) for i = 0..4: mean (2, 4), population std (sqrt 2, 2 sqrt 2).
  CHECK(d.state_mean()[0] == Approx(2.0));
  CHECK(d.state_mean()[1] == Approx(4.0));
  CHECK(d.state_std()[0] == Approx(std::sqrt(2.0)));
  CHECK(d.state_std()[1] == Approx(2 * std::sqrt(2.0)));
}

TEST_CASE("dataset: DT windows are left-padded, normalised, scaled and follow the DT rule", "[data]") {
  const auto t = make({5, 40});
  const TrajectoryDataset d(t, aaren::data::split_episodes(t));
  BatchOptions opt;
  opt.return_scale = 10.0;
  WindowSampler sampler(d, 8, opt, 7);
  auto b = sampler.sample(4000);
  CHECK(b.states.sizes() == torch::IntArrayRef({4000, 8, 2}));
  std::map<int64_t, int64_t> first_step_counts;
  int64_t from_short = 0;
  for (int64_t r = 0; r < b.batch(); ++r) {
    const auto mask = b.mask[r];
    const int64_t n = mask.sum().item<int64_t>();
    REQUIRE(n >= 1);
    // Left padding: the real steps are the last n slots.
    CHECK(mask.narrow(0, 8 - n, n).all().item<bool>());
    if (n < 8) CHECK(!mask.narrow(0, 0, 8 - n).any().item<bool>());
    // Raw step index from the action (-i), then every field is consistent.
    const int64_t first = static_cast<int64_t>(-b.actions[r][8 - n][0].item<float>());
    ++first_step_counts[first];
    for (int64_t k = 0; k < n; ++k) {
      const int64_t i = first + k;
      const int64_t slot = 8 - n + k;
      CHECK(b.actions[r][slot][0].item<float>() == -static_cast<float>(i));
      const float s0 = (static_cast<float>(i) - d.state_mean()[0]) / (d.state_std()[0] + 1e-6f);
      CHECK(b.states[r][slot][0].item<float>() == Approx(s0).epsilon(1e-5));
      CHECK(b.returns_to_go[r][slot].item<float>() == Approx(d.return_to_go(i) / 10.0f));
      const int64_t t_in_episode = i < 5 ? i : i - 5;
      CHECK(b.timesteps[r][slot].item<int64_t>() == t_in_episode);
    }
    from_short += first < 5;
  }
  // An episode is chosen with probability proportional to its length: 5/45.
  CHECK(std::abs(from_short / 4000.0 - 5.0 / 45.0) < 0.02);
  // Starts uniform over all 45 steps: each occurs, and Pearson's chi-square
  // against 4000/45 per step stays below its 0.1% critical value for 44
  // degrees of freedom (78.75); a start drawn from the wrong range or with
  // the wrong weights lands far above it.
  CHECK(first_step_counts.size() == 45);
  double chi_square = 0;
  for (const auto& [step, count] : first_step_counts) chi_square += std::pow(count - 4000.0 / 45, 2) / (4000.0 / 45);
  CHECK(chi_square < 78.75);
}

TEST_CASE("dataset: same seed, same batches", "[data]") {
  const auto t = make({30, 50, 7});
  const TrajectoryDataset d(t, aaren::data::split_episodes(t));
  WindowSampler a(d, 20, {}, 3), b(d, 20, {}, 3), c(d, 20, {}, 4);
  const auto x = a.sample(64), y = b.sample(64), z = c.sample(64);
  CHECK(torch::equal(x.states, y.states));
  CHECK(torch::equal(x.mask, y.mask));
  CHECK(!torch::equal(x.states, z.states));
}

TEST_CASE("dataset: whole episodes from the first step, right-padded, chunked", "[data]") {
  const auto t = make({3, 10, 6});
  const TrajectoryDataset d(t, aaren::data::split_episodes(t));
  EpisodeSampler sampler(d, {}, 0);
  auto b = sampler.episodes({2, 0, 1});
  REQUIRE(b.length() == 10);
  CHECK(b.mask.sum(1).to(torch::kInt64).equal(torch::tensor({6, 3, 10}, torch::kInt64)));
  CHECK(b.timesteps[2].equal(torch::arange(10, torch::kInt64)));
  CHECK(b.actions[0][0][0].item<float>() == -13.0f);  // episode 2 starts at global step 13
  CHECK(b.actions[1][2][0].item<float>() == -2.0f);
  CHECK(b.states[1][5].abs().sum().item<float>() == 0.0f);  // padding is zero
  const auto chunks = EpisodeSampler::chunks(b, 4);
  REQUIRE(chunks.size() == 3);
  CHECK(chunks[2].length() == 2);
  CHECK(torch::equal(torch::cat({chunks[0].states, chunks[1].states, chunks[2].states}, 1), b.states));
  // Sampling: all episodes appear, and every row starts at step 0.
  auto s = sampler.sample(200);
  std::set<float> first_actions;  // -(the episode's first global step): 0, 3 or 13
  for (int64_t r = 0; r < 200; ++r) first_actions.insert(s.actions[r][0][0].item<float>());
  CHECK(first_actions == std::set<float>{-13.0f, -3.0f, 0.0f});
  CHECK(s.timesteps.select(1, 0).sum().item<int64_t>() == 0);
  CHECK(s.mask.select(1, 0).all().item<bool>());
}

TEST_CASE("dataset: other state statistics replace the file's in windows and episodes, sizes checked", "[data]") {
  const auto t = make({5, 12});
  TrajectoryDataset d(t, aaren::data::split_episodes(t));
  const std::vector<float> mean{1.5f, -3.0f}, inv_std{0.25f, 2.0f};
  d.use_state_statistics(mean, inv_std);
  CHECK(d.state_mean() == mean);
  CHECK(d.state_inv_std() == inv_std);
  CHECK(d.state_std()[0] == Approx(4.0));
  WindowSampler windows(d, 4, BatchOptions{}, 3);
  const auto w = windows.sample(8);
  const auto episodes = EpisodeSampler(d, BatchOptions{}, 3).episodes({0, 1});
  for (const auto* b : {&w, &episodes})
    for (int64_t r = 0; r < b->batch(); ++r)
      for (int64_t k = 0; k < b->length(); ++k) {
        if (!b->mask[r][k].item<bool>()) continue;
        const float i = -b->actions[r][k][0].item<float>();  // the step's global index: observation (i, 2i)
        CHECK(b->states[r][k][0].item<float>() == Approx((i - 1.5f) * 0.25f));
        CHECK(b->states[r][k][1].item<float>() == Approx((2 * i + 3.0f) * 2.0f));
      }
  CHECK_THROWS_WITH(d.use_state_statistics({1.0f}, inv_std), Catch::Contains("for 2-dim states"));
  CHECK_THROWS_WITH(d.use_state_statistics(mean, {0.25f, 0.0f}), Catch::Contains("must be positive and finite"));
}
