#include "runtime/lean_mixer.h"

#include "runtime/lean_aaren.h"
#include "runtime/lean_lstm.h"

namespace aaren::lean {

std::unique_ptr<const Mixer> read_mixer(const std::string& backbone, const PolicyFile& f, const std::string& prefix,
                                        int64_t D, int64_t H) {
  if (backbone == "aaren") return std::make_unique<const AarenMixer>(f, prefix, D, H);
  if (backbone == "lstm") return std::make_unique<const LstmMixer>(f, prefix, D);
  throw PolicyFileError("backbone is '" + backbone + "'; the lean runtime runs aaren and lstm policies");
}

}  // namespace aaren::lean
