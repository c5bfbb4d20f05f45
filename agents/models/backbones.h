// The backbone registry: one descriptor per sequence model under the decision
// policy, saying everything the rest of the toolkit asks of a backbone: its
// name, its token mixer, how it trains, how it acts, what the lean runtime
// runs. Adding a backbone is its mixer class, one value of BackboneKind and one
// row of backbone_descriptors() (agents/models/backbones.cpp); every command,
// the checkpoints, evaluations and benchmarks take it from there.
// No LibTorch here (the training config includes it).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agents/models/kinds.h"

namespace aaren {

class SequenceMixer;
struct BackboneConfig;

// The sequence model under the decision policy (its name: the descriptor's).
enum class BackboneKind {
  kAaren,        // attention as an RNN (Feng et al. 2024): a prefix scan in training, O(1) state acting
  kTransformer,  // causal softmax attention (DT, Chen et al. 2021)
  kLstm,         // an LSTM per layer (Decision LSTM, Siebenborn et al. 2022)
};

struct BackboneDescriptor {
  BackboneKind kind;
  std::string name;     // on the command line, in JSON, in tables ("aaren")
  std::string summary;  // one line for help and docs
  // The token mixer of one block (a SequenceMixer: parallel forward, and a state to act with).
  std::function<std::shared_ptr<SequenceMixer>(const BackboneConfig&)> make_mixer;
  // The ways it acts that compare and the benchmarks show, the default (and
  // evaluations') first. A state-carrying mode is "recurrent" for a state of
  // fixed size, "kvcache" for a growing one. Any backbone can also act on a
  // window (resolve_mode).
  std::vector<ActMode> act_modes;
  // It can train on whole episodes with its state carried between chunks
  // (--aaren-sampling episodes); otherwise it trains on DT's windows only.
  bool trains_on_episodes = false;
  // The lean runtime (runtime/) runs it: `aaren export` writes its policy file.
  bool lean_runtime = false;

  // The mode `requested` means for this backbone: itself if it acts that way
  // (or it is window); "recurrent" for a backbone whose state is a KV cache
  // means "kvcache".
  // Throws std::invalid_argument naming `flag` and the backbone's modes otherwise.
  ActMode resolve_mode(ActMode requested, const std::string& flag = "--mode") const;
  // The mode a command-line name asks for: "auto" is the default mode, another
  // name (recurrent, window, kvcache) goes through resolve_mode. The one parser
  // of --mode (rollout) and --eval-mode (train); throws std::invalid_argument
  // naming `flag` for a name that is none of these.
  ActMode mode_named(const std::string& name, const std::string& flag = "--mode") const;
  bool acts_in(ActMode mode) const;
  ActMode default_mode() const { return act_modes.front(); }
  // The state-carrying mode (recurrent or kvcache).
  ActMode state_mode() const;
};

// Every backbone, in the order tables and benchmarks list them.
const std::vector<BackboneDescriptor>& backbone_descriptors();
const BackboneDescriptor& descriptor(BackboneKind kind);

// Read and written by name (base/config_fields.h).
const char* to_string(BackboneKind kind);
const std::vector<BackboneKind>& all_values(BackboneKind);
// "aaren | transformer | lstm", for help texts.
std::string backbone_names(const std::string& separator = " | ");

}  // namespace aaren
