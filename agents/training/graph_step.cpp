#include "agents/training/graph_step.h"

#include <stdexcept>

#ifdef AAREN_WITH_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "agents/training/capturable_adamw.h"
#endif

namespace aaren {

#ifdef AAREN_WITH_CUDA

namespace {

class CudaGraphedStep : public GraphedStep {
 public:
  CudaGraphedStep(std::vector<torch::Tensor> parameters, torch::optim::AdamW& optimizer, double grad_clip, LossFn loss)
      : parameters_(std::move(parameters)),
        optimizer_(optimizer),
        grad_clip_(grad_clip),
        loss_fn_(std::move(loss)),
        device_(parameters_.front().device()),
        stream_(c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device_.index())) {}

  void on_graph_stream(const std::function<void()>& fn) override {
    const c10::cuda::CUDAGuard device_guard(device_);
    join(stream_, current());
    {
      const c10::cuda::CUDAStreamGuard guard(stream_);
      fn();
    }
    join(current(), stream_);
  }

  std::pair<double, int64_t> run(const data::SequenceBatch& batch, double lr) override {
    const c10::cuda::CUDAGuard device_guard(device_);
    if (!graph_) capture(batch);
    copy_into(inputs_, batch);
    adam_->set_lr(lr);
    graph_->replay();
    return {loss_.item<double>(), steps_.item<int64_t>()};
  }

  void invalidate() override {
    if (adam_) adam_->write_back_step_counts();
    graph_.reset(), adam_.reset();
    loss_ = steps_ = torch::Tensor();
    inputs_ = {};
  }

 private:
  static c10::cuda::CUDAStream current() { return c10::cuda::getCurrentCUDAStream(); }
  // `waiting` runs nothing more until everything enqueued on `on` so far has run.
  static void join(const c10::cuda::CUDAStream& waiting, const c10::cuda::CUDAStream& on) {
    if (waiting == on) return;
    at::cuda::CUDAEvent done;
    done.record(on);
    done.block(waiting);
  }

  static void copy_into(data::SequenceBatch& to, const data::SequenceBatch& from) {
    to.states.copy_(from.states), to.actions.copy_(from.actions), to.rewards.copy_(from.rewards);
    to.returns_to_go.copy_(from.returns_to_go), to.timesteps.copy_(from.timesteps), to.mask.copy_(from.mask);
  }

  // The step recorded on the graph's stream: gradients set to none first, so
  // the graph allocates them from its own pool (PyTorch's recipe).
  void capture(const data::SequenceBatch& batch) {
    inputs_ = {batch.states.to(device_).clone(),    batch.actions.to(device_).clone(),
               batch.rewards.to(device_).clone(),   batch.returns_to_go.to(device_).clone(),
               batch.timesteps.to(device_).clone(), batch.mask.to(device_).clone()};
    adam_ = std::make_unique<CapturableAdamW>(optimizer_);
    for (auto& p : parameters_) p.mutable_grad() = torch::Tensor();
    auto graph = std::make_unique<at::cuda::CUDAGraph>();
    join(stream_, current());
    {
      const c10::cuda::CUDAStreamGuard guard(stream_);
      graph->capture_begin();
      try {
        std::tie(loss_, steps_) = loss_fn_(inputs_);
        loss_.backward();
        clip_grad_norm_on_device(parameters_, grad_clip_);
        adam_->step();
      } catch (...) {
        try {
          graph->capture_end();
        } catch (...) {
        }
        throw;
      }
      graph->capture_end();
    }
    join(current(), stream_);
    graph_ = std::move(graph);
  }

  std::vector<torch::Tensor> parameters_;
  torch::optim::AdamW& optimizer_;
  double grad_clip_;
  LossFn loss_fn_;
  torch::Device device_;
  c10::cuda::CUDAStream stream_;
  std::unique_ptr<at::cuda::CUDAGraph> graph_;
  std::unique_ptr<CapturableAdamW> adam_;
  data::SequenceBatch inputs_;
  torch::Tensor loss_, steps_;
};

}  // namespace

bool cuda_graphs_available() { return true; }

std::unique_ptr<GraphedStep> make_graphed_step(std::vector<torch::Tensor> parameters, torch::optim::AdamW& optimizer,
                                               double grad_clip, GraphedStep::LossFn loss) {
  if (parameters.empty() || !parameters.front().is_cuda())
    throw std::invalid_argument("--cuda-graphs 1: the model is not on a CUDA device (--device cuda)");
  return std::make_unique<CudaGraphedStep>(std::move(parameters), optimizer, grad_clip, std::move(loss));
}

#else

bool cuda_graphs_available() { return false; }

std::unique_ptr<GraphedStep> make_graphed_step(std::vector<torch::Tensor>, torch::optim::AdamW&, double,
                                               GraphedStep::LossFn) {
  throw std::invalid_argument("--cuda-graphs 1: this build's LibTorch has no CUDA");
}

#endif

}  // namespace aaren
