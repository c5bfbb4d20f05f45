// End to end on the bundled mixed-quality dataset: both backbones, trained
// briefly and conditioned on a high target return, act clearly better than
// the dataset's average episode.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include "agents/training/decision_trainer.h"
#include "tests/agents/decision_test_support.h"
#include "tests/data/fixtures.h"

TEST_CASE("end to end: each backbone beats the bundled dataset's mean episode return", "[e2e][decision]") {
  const auto dir = aaren::testing::temp_dir("e2e");
  for (std::string kind : {"aaren", "transformer"}) {
    aaren::TrainConfig c;
    c.dataset = AAREN_SOURCE_DIR "/data/bundled/hopper-mixed-v0.hdf5";
    c.out_dir = dir + "/" + kind;
    c.backbone = aaren::testing::backbone_kind(kind);
    // DT's model and batch; a short, faster schedule (lr 1e-3, 30 warm-up
    // updates, 120 updates) so the test runs in about two minutes.
    c.updates = 120;
    c.lr = 1e-3;
    c.warmup = 30;
    c.eval_episodes = 10;
    c.eval_every = c.updates, c.eval_targets = {3600.0};  // one evaluation, at the end, at DT's Hopper target
    c.seed = 0;
    c.threads = 1;  // ctest runs two tests at once on two cores: more threads only oversubscribe them
    const auto r = aaren::train_decision(c);
    REQUIRE(!r.evals.empty());
    const auto& e = r.evals.back();
    INFO(kind << ": mean return " << e.return_mean << " +- " << e.return_std << " vs dataset mean "
              << r.dataset_return_mean);
    CHECK(r.dataset_return_mean == Approx(125.09).epsilon(0.01));
    CHECK(e.return_mean > 1.5 * r.dataset_return_mean);
  }
}
