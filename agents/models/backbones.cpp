#include "agents/models/backbones.h"

#include <stdexcept>

#include "agents/models/aaren_attention.h"
#include "agents/models/causal_attention.h"
#include "agents/models/lstm_mixer.h"

namespace aaren {

namespace {
template <typename Mixer>
std::shared_ptr<SequenceMixer> mixer_of(const BackboneConfig& config) {
  return std::make_shared<Mixer>(config);
}
}  // namespace

const std::vector<BackboneDescriptor>& backbone_descriptors() {
  static const std::vector<BackboneDescriptor> rows{
      {BackboneKind::kAaren,
       "aaren",
       "attention as an RNN (Feng et al. 2024): trains by a prefix scan, acts in constant memory",
       mixer_of<AarenAttention>,
       {ActMode::kRecurrent},
       /*trains_on_episodes=*/true,
       /*lean_runtime=*/true},
      {BackboneKind::kTransformer,
       "transformer",
       "causal softmax attention, Decision Transformer's (Chen et al. 2021): acts on its last K steps",
       mixer_of<CausalSelfAttention>,
       {ActMode::kWindow, ActMode::kKVCache},
       false,
       false},
      {BackboneKind::kLstm,
       "lstm",
       "an LSTM per layer, Decision LSTM's (Siebenborn et al. 2022): trains step by step, acts in constant memory",
       mixer_of<LstmMixer>,
       {ActMode::kRecurrent, ActMode::kWindow},
       true,
       true},
  };
  return rows;
}

const BackboneDescriptor& descriptor(BackboneKind kind) {
  for (const auto& d : backbone_descriptors())
    if (d.kind == kind) return d;
  throw std::invalid_argument("backbone: no descriptor for kind " + std::to_string(static_cast<int>(kind)));
}

const char* to_string(BackboneKind kind) { return descriptor(kind).name.c_str(); }

const std::vector<BackboneKind>& all_values(BackboneKind) {
  static const std::vector<BackboneKind> kinds = [] {
    std::vector<BackboneKind> v;
    for (const auto& d : backbone_descriptors()) v.push_back(d.kind);
    return v;
  }();
  return kinds;
}

std::string backbone_names(const std::string& separator) {
  std::string out;
  for (const auto& d : backbone_descriptors()) out += (out.empty() ? "" : separator) + d.name;
  return out;
}

ActMode BackboneDescriptor::mode_named(const std::string& name, const std::string& flag) const {
  if (name == "auto") return default_mode();
  for (const ActMode m : all_values(ActMode{}))
    if (name == aaren::to_string(m)) return resolve_mode(m, flag);
  throw std::invalid_argument(flag + " must be auto, recurrent, window or kvcache, got '" + name + "'");
}

bool BackboneDescriptor::acts_in(ActMode mode) const {
  for (auto m : act_modes)
    if (m == mode) return true;
  return false;
}

ActMode BackboneDescriptor::state_mode() const {
  return acts_in(ActMode::kKVCache) ? ActMode::kKVCache : ActMode::kRecurrent;
}

ActMode BackboneDescriptor::resolve_mode(ActMode requested, const std::string& flag) const {
  // Every mixer runs its parallel forward from an empty state, so every
  // backbone can act on a window (a windows-trained agent acts as it trained).
  if (acts_in(requested) || requested == ActMode::kWindow) return requested;
  if (requested == ActMode::kRecurrent && acts_in(ActMode::kKVCache)) return ActMode::kKVCache;
  std::string modes;
  for (auto m : act_modes) modes += (modes.empty() ? "" : ", ") + std::string(aaren::to_string(m));
  throw std::invalid_argument(flag + " " + std::string(aaren::to_string(requested)) + ": the " + name +
                              " backbone acts in " + modes + " (or window)");
}

}  // namespace aaren
