// A small decision policy and a batch for it, shared by the device tests.
#pragma once

#include <torch/torch.h>

#include <string>

#include "agents/models/decision_policy.h"
#include "agents/models/kinds.h"
#include "base/config_fields.h"

namespace aaren::testing {

// A backbone or token layout by its name, as the command line spells it.
inline BackboneKind backbone_kind(const std::string& name) { return base::parse_enum<BackboneKind>(name); }
inline TokenLayout token_layout(const std::string& name) { return base::parse_enum<TokenLayout>(name); }

// Hopper's sizes, DT's width, no dropout (so two runs of a step agree).
inline DecisionConfig small_decision_config(const std::string& kind) {
  DecisionConfig config;
  config.state_dim = 11, config.act_dim = 3, config.max_ep_len = 100;
  config.backbone.kind = backbone_kind(kind);
  config.backbone.dropout = 0.0;
  return config;
}

// A token layout by test name: "interleaved", "fused", or "fused-sum" (the
// fused layout without its per-part LayerNorms, as trained before them).
inline void set_token_layout(DecisionConfig& config, const std::string& layout) {
  config.tokens = token_layout(layout == "fused-sum" ? "fused" : layout);
  config.fused_norm = layout != "fused-sum";
}

struct DecisionBatch {
  torch::Tensor states, actions, returns_to_go, timesteps;  // [B, T, 11], [B, T, 3], [B, T], [B, T]
};

inline DecisionBatch random_decision_batch(int64_t B, int64_t T) {
  return {torch::randn({B, T, 11}), torch::rand({B, T, 3}) * 2 - 1, torch::randn({B, T}),
          torch::arange(T).repeat({B, 1})};
}

}  // namespace aaren::testing
