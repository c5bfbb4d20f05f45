// D4RL's normalised score: 100 (R - random) / (expert - random), with d4rl's
// reference returns per environment (D4RL, Fu et al. 2020: d4rl/infos.py; kept in
// the env registry), and the mapping from the names
// users write (hopper, Hopper-v3, hopper-medium-v2, hopper_medium-v2.hdf5) to
// the environment they mean.
#pragma once

#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace aaren::envs {

struct ScoreReference {
  std::string env;       // canonical name: hopper, halfcheetah, walker2d, ant
  double random_return;  // d4rl REF_MIN_SCORE
  double expert_return;  // d4rl REF_MAX_SCORE

  // NaN when the reference is missing (both 0: an env without published references).
  double normalize(double episode_return) const {
    if (expert_return == random_return) return std::numeric_limits<double>::quiet_NaN();
    return 100.0 * (episode_return - random_return) / (expert_return - random_return);
  }
};

// Every environment with reference scores (the rows of envs/registry.h).
const std::vector<ScoreReference>& score_references();

// The environment a name or a file path refers to: its first token (before
// '-' or '_', lower-cased, directories and extension dropped) must be a known
// environment. nullopt when it is not.
std::optional<ScoreReference> score_reference_for(const std::string& name_or_path);

}  // namespace aaren::envs
