// The kinds a decision agent is built from, as enums: parsed from text once
// (at the command line, or from a checkpoint's JSON) and compared as values
// everywhere else. Each enum has `to_string` and `all_values`, which the
// config tables (base/config_fields.h) use to read and write them by name.
#pragma once

#include <vector>

namespace aaren {

// How a trained decision policy acts in envs (agents/acting/decision_rollout.h):
enum class ActMode {
  kRecurrent,  // one backbone update per token, a state of fixed size carried over the episode
  kWindow,     // DT's way: the last K steps re-run in full every env step
  kKVCache,    // the Transformer's keys and values kept (a state that grows with the tokens)
};
inline const char* to_string(ActMode m) {
  return m == ActMode::kRecurrent ? "recurrent" : m == ActMode::kWindow ? "window" : "kvcache";
}
inline const std::vector<ActMode>& all_values(ActMode) {
  static const std::vector<ActMode> v{ActMode::kRecurrent, ActMode::kWindow, ActMode::kKVCache};
  return v;
}

// How an episode becomes tokens.
enum class TokenLayout {
  kInterleaved,  // DT's: R_t, s_t, a_t, three tokens per step
  kFused,        // one token per step from R_t, s_t and a_{t-1}
};
inline const char* to_string(TokenLayout t) { return t == TokenLayout::kInterleaved ? "interleaved" : "fused"; }
inline const std::vector<TokenLayout>& all_values(TokenLayout) {
  static const std::vector<TokenLayout> v{TokenLayout::kInterleaved, TokenLayout::kFused};
  return v;
}
inline int tokens_per_step(TokenLayout t) { return t == TokenLayout::kFused ? 1 : 3; }

// What an Aaren update trains on.
enum class AarenSampling {
  kEpisodes,  // whole episodes from their first step, as the recurrent policy sees them when acting
  kWindows,   // DT's K-step windows, each from an empty state
};
inline const char* to_string(AarenSampling s) { return s == AarenSampling::kEpisodes ? "episodes" : "windows"; }
inline const std::vector<AarenSampling>& all_values(AarenSampling) {
  static const std::vector<AarenSampling> v{AarenSampling::kEpisodes, AarenSampling::kWindows};
  return v;
}

// The learning rate after the linear warm-up.
enum class LrSchedule {
  kConstant,  // DT's
  kCosine,    // half a cosine to 0 at the last update
};
inline const char* to_string(LrSchedule s) { return s == LrSchedule::kConstant ? "constant" : "cosine"; }
inline const std::vector<LrSchedule>& all_values(LrSchedule) {
  static const std::vector<LrSchedule> v{LrSchedule::kConstant, LrSchedule::kCosine};
  return v;
}

}  // namespace aaren
