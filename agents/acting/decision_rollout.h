// Acting with a trained decision policy in vectorised envs: return-to-go
// conditioning (R_{t+1} = R_t - r_t / scale), state normalisation, and three
// ways to run the backbone:
//   recurrent — one backbone update per token, the state (Aaren: (m, u, w);
//               LSTM: (h, c)) carried over the whole episode;
//   window    — DT's way: the last K steps re-run in full every env step;
//   kvcache   — the Transformer with its KV cache (its recurrent path).
// Which modes a backbone has is its descriptor's (agents/models/backbones.h).
#pragma once

#include <torch/torch.h>

#include <deque>
#include <string>
#include <vector>

#include "agents/acting/rollout.h"
#include "agents/checkpoint/state_normalizer.h"
#include "agents/models/decision_policy.h"

namespace aaren {

class DecisionBatchPolicy : public AgentPolicy {
 public:
  // mode: as the backbone's descriptor resolves it (throws std::invalid_argument
  // for a mode the backbone does not act in).
  // rows >= num_envs: the batch the model computes (rows past num_envs are
  // padding: a fixed row count makes each env's actions the same bits whatever
  // num_envs is; 0: num_envs).
  DecisionBatchPolicy(DecisionPolicy model, StateNormalizer normalizer, double return_scale, double target_return,
                      ActMode mode, int64_t num_envs, int64_t rows = 0);
  void begin_episode(int64_t slot) override;
  void act(const envs::VectorEnv& envs, std::vector<double>& actions) override;
  void observe(const envs::VectorEnv& envs) override;

  // The same without envs (benchmarks drive the policy with synthetic input):
  //   observations [num_envs * S] -> actions [num_envs * A];
  //   advance: every env took its action and got rewards [num_envs].
  void act(const std::vector<double>& observations, std::vector<double>& actions) override;
  void advance(const std::vector<double>& rewards) override;

  // Bytes the policy keeps between env steps: the backbone state (recurrent,
  // kvcache) or the K-step history (window).
  int64_t state_bytes() const override;
  int64_t peak_state_bytes() const override { return peak_state_bytes_; }  // largest seen after an act()
  // Tokens the backbone state has taken in per sequence (recurrent, kvcache):
  // 3 per env step in the interleaved layout, 1 in the fused one.
  int64_t tokens_seen() const { return state_.tokens; }

 private:
  DecisionPolicy model_;
  StateNormalizer norm_;
  double scale_, target_;
  ActMode mode_;
  int64_t n_, m_;    // envs, and the rows the model computes (n_ real, the rest padding)
  bool fixed_rows_;  // m_ was fixed by the caller (evaluations), not by the number of envs
  int64_t S_, A_, K_;
  BackboneState state_;
  std::vector<float> rtg_;          // scaled return-to-go per env
  std::vector<int64_t> t_;          // timestep per env
  std::vector<float> prev_action_;  // [n, A]
  std::vector<float> last_action_;  // [n, A]: the action just taken
  // Window mode: the last K steps per env (normalised state, action, rtg, t).
  struct Step {
    std::vector<float> state, action;
    float rtg;
    int64_t t;
  };
  std::vector<std::deque<Step>> history_;
  int64_t peak_state_bytes_ = 0;
  // The row each env's episode computes in. With fixed rows, episode e (env i's
  // k-th: e = i + k * n_, run_rollout's order) takes row e mod m_ when it is
  // free: OpenBLAS's kernels compute some row positions with other code (with
  // its Haswell kernels, rows 2 and 3 of every 4), so an episode keeps its bits
  // only in the same row, whatever the number of envs.
  std::vector<int64_t> row_, episodes_begun_, slot_at_row_;
  int64_t take_row(int64_t slot);

  void advance_env(int64_t i, double reward);
};

}  // namespace aaren
