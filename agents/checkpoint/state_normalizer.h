// The state normalisation an agent was trained with, (s - mean) / (std + 1e-6)
// over the dataset's states (DT's), stored in its checkpoint and applied when it acts.
#pragma once

#include <torch/torch.h>

namespace aaren {

struct StateNormalizer {
  torch::Tensor mean, inv_std;  // [S]: (s - mean) * inv_std, inv_std = 1 / (std + 1e-6)
  torch::Tensor apply(const torch::Tensor& states) const { return (states - mean) * inv_std; }
};

}  // namespace aaren
