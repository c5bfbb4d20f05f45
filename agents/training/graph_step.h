// DT's training step captured in a CUDA graph (CUDA Programming Guide,
// "CUDA Graphs"; PyTorch's "whole-network capture"): forward, loss,
// backward, clipping and AdamW recorded once and replayed per update as one
// launch. At DT's size a GPU step is a few hundred small kernels whose
// launches, not their arithmetic, set its time.
//
// Only where the step's shapes are fixed (DT's windows, one rank, fp32).
// The protocol: a few eager updates on the graph's own stream first (lazy
// initialisation must not happen during capture), then a capture; each
// update copies its batch into the graph's inputs, sets the learning rate on
// the device and replays. Whatever moves the model's storage (evaluating or
// saving on the CPU) invalidates the graph, and the next update captures
// again. The optimiser's state is torch::optim::AdamW's, updated in place
// (capturable_adamw.h), so checkpoints are the eager run's.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <utility>

#include "data/trajectory_dataset.h"

namespace aaren {

class GraphedStep {
 public:
  // The step's loss on a batch already on the device: {loss, real steps},
  // both tensors, with no value read back to the host.
  using LossFn = std::function<std::pair<torch::Tensor, torch::Tensor>(const data::SequenceBatch&)>;
  virtual ~GraphedStep() = default;
  // Runs `fn` (an eager update) on the graph's stream.
  virtual void on_graph_stream(const std::function<void()>& fn) = 0;
  // One update: captures first when there is no valid graph; {loss, real steps}.
  virtual std::pair<double, int64_t> run(const data::SequenceBatch& batch, double lr) = 0;
  // The model's storage moved (or is about to be saved): the optimiser's step
  // counts written back, the graph dropped.
  virtual void invalidate() = 0;
};

// Whether this build can capture (its LibTorch has CUDA).
bool cuda_graphs_available();

// The graphed step of `parameters` (on one CUDA device) and their AdamW;
// throws std::invalid_argument where this build cannot capture.
std::unique_ptr<GraphedStep> make_graphed_step(std::vector<torch::Tensor> parameters, torch::optim::AdamW& optimizer,
                                               double grad_clip, GraphedStep::LossFn loss);

}  // namespace aaren
