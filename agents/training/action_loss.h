// A trained decision agent's action error on a dataset, with the loss it
// trained on (DT's, Chen et al. 2021: the mean squared error of the predicted
// actions over the real steps), its batches, dropout off, fp32, no update.
// Every step weighs the same (on DT's windows nearly so; training's draw of
// whole episodes in proportion to their length weighs a step by its episode's
// length instead), so both kinds of backbone are measured on one footing.
// On the training file it is the model's fit; on episodes that the same
// behaviour policy produced afresh it is its error on unseen data from the same
// distribution; the gap between the two is how far the model has overfitted.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>

#include "agents/checkpoint/checkpoint.h"
#include "data/trajectory_dataset.h"

namespace aaren {

// The squared error of `pred` against `target` summed over the real steps
// (mask [B, T]) and action dims, in fp32 whatever the forward pass ran in.
torch::Tensor masked_mse_sum(const torch::Tensor& pred, const torch::Tensor& target, const torch::Tensor& mask);

// The episodes of `batch` chunk by chunk (at most chunk_steps steps each), the
// backbone's state and the fused layout's previous action carried from one
// chunk to the next, as the recurrent policy carries them when it acts.
// `on_chunk` gets each chunk's masked_mse_sum (still in the graph: it may
// backpropagate it); the state is detached after it, so gradients are cut at
// chunk boundaries (truncated backpropagation through time). The forward pass
// runs under bf16 autocast on `device` when `bf16`.
void for_each_episode_chunk(DecisionPolicy& model, const data::SequenceBatch& batch, int64_t chunk_steps,
                            const torch::Device& device, bool bf16,
                            const std::function<void(const torch::Tensor& chunk_sse)>& on_chunk);

struct ActionLoss {
  std::string regime;    // "windows": DT's K-step windows, sampled; "episodes": every episode, in order
  double mse = 0;        // over every real step and action dim measured
  double std_error = 0;  // of mse over the batches, as a ratio estimator's (batches of unequal sizes)
  int64_t batches = 0, steps = 0;
};

// As the agent trained: on DT's windows, `batches` batches of its batch size
// drawn from `seed` as training draws them; on whole episodes (a backbone that
// trained on them), every episode once, in file order, its batch of episodes
// at a time, in its chunks with the state carried (batches and seed unused).
// `data` must normalise states with the agent's statistics
// (TrajectoryDataset::use_state_statistics). Throws std::invalid_argument when
// the data's dims are not the agent's.
ActionLoss action_loss(const LoadedAgent& agent, const data::TrajectoryDataset& data, int64_t batches, uint64_t seed);

}  // namespace aaren
