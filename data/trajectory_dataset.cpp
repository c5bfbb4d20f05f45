#include "data/trajectory_dataset.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>
#include <stdexcept>

namespace aaren::data {

TrajectoryDataset::TrajectoryDataset(const Transitions& t, const EpisodeSplit& split)
    : obs_dim_(t.obs_dim), act_dim_(t.act_dim) {
  if (split.episodes.empty()) throw DataError("dataset: no complete episodes");
  int64_t total = 0;
  for (const auto& e : split.episodes) total += e.length;
  observations_.reserve(total * obs_dim_);
  actions_.reserve(total * act_dim_);
  rewards_.reserve(total);
  rtg_.resize(total);
  for (const auto& e : split.episodes) {
    Episode copy = e;
    copy.start = static_cast<int64_t>(rewards_.size());
    observations_.insert(observations_.end(), t.observations.begin() + e.start * obs_dim_,
                         t.observations.begin() + (e.start + e.length) * obs_dim_);
    actions_.insert(actions_.end(), t.actions.begin() + e.start * act_dim_,
                    t.actions.begin() + (e.start + e.length) * act_dim_);
    rewards_.insert(rewards_.end(), t.rewards.begin() + e.start, t.rewards.begin() + e.start + e.length);
    double acc = 0.0;  // returns-to-go by a reverse cumulative sum, in double
    for (int64_t i = copy.start + e.length - 1; i >= copy.start; --i) {
      acc += rewards_[i];
      rtg_[i] = static_cast<float>(acc);
    }
    max_length_ = std::max(max_length_, e.length);
    starts_.push_back(copy.start);
    episodes_.push_back(copy);
  }
  std::vector<double> sum(obs_dim_, 0.0), sq(obs_dim_, 0.0);
  for (int64_t i = 0; i < total; ++i)
    for (int64_t j = 0; j < obs_dim_; ++j) {
      const double x = observations_[i * obs_dim_ + j];
      sum[j] += x;
      sq[j] += x * x;
    }
  state_mean_.resize(obs_dim_);
  state_std_.resize(obs_dim_);
  for (int64_t j = 0; j < obs_dim_; ++j) {
    const double mean = sum[j] / total;
    state_mean_[j] = static_cast<float>(mean);
    state_std_[j] = static_cast<float>(std::sqrt(std::max(0.0, sq[j] / total - mean * mean)));
    state_inv_std_.push_back(static_cast<float>(1.0 / (state_std_[j] + 1e-6)));
  }
}

void TrajectoryDataset::use_state_statistics(const std::vector<float>& mean, const std::vector<float>& inv_std) {
  if (static_cast<int64_t>(mean.size()) != obs_dim_ || static_cast<int64_t>(inv_std.size()) != obs_dim_)
    throw std::invalid_argument("state statistics of " + std::to_string(mean.size()) + " and " +
                                std::to_string(inv_std.size()) + " dims for " + std::to_string(obs_dim_) +
                                "-dim states");
  for (const float f : inv_std)
    if (!(f > 0) || !std::isfinite(f))
      throw std::invalid_argument("state statistics: 1 / (std + 1e-6) must be positive and finite, got " +
                                  std::to_string(f));
  state_mean_ = mean, state_inv_std_ = inv_std;
  state_std_.clear();
  for (const float f : inv_std) state_std_.push_back(static_cast<float>(std::max(0.0, 1.0 / f - 1e-6)));
}

int64_t TrajectoryDataset::episode_of(int64_t i) const {
  return static_cast<int64_t>(std::upper_bound(starts_.begin(), starts_.end(), i) - starts_.begin()) - 1;
}

SequenceBatch SequenceBatch::narrow(int64_t start, int64_t len) const {
  return {states.narrow(1, start, len),        actions.narrow(1, start, len),   rewards.narrow(1, start, len),
          returns_to_go.narrow(1, start, len), timesteps.narrow(1, start, len), mask.narrow(1, start, len)};
}

namespace {

SequenceBatch allocate(int64_t B, int64_t T, int64_t obs_dim, int64_t act_dim) {
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32);
  return {torch::zeros({B, T, obs_dim}, f32), torch::zeros({B, T, act_dim}, f32),  torch::zeros({B, T}, f32),
          torch::zeros({B, T}, f32),          torch::zeros({B, T}, torch::kInt64), torch::zeros({B, T}, torch::kBool)};
}

// Copies `count` steps of one episode (from its step `first`) into row b at
// time slot `slot` onwards.
void fill(const TrajectoryDataset& data, const BatchOptions& opt, SequenceBatch& out, int64_t b, int64_t slot,
          const Episode& e, int64_t first, int64_t count) {
  const int64_t T = out.length(), od = data.obs_dim(), ad = data.act_dim();
  float* states = out.states.data_ptr<float>() + (b * T + slot) * od;
  float* actions = out.actions.data_ptr<float>() + (b * T + slot) * ad;
  float* rewards = out.rewards.data_ptr<float>() + b * T + slot;
  float* rtg = out.returns_to_go.data_ptr<float>() + b * T + slot;
  int64_t* steps = out.timesteps.data_ptr<int64_t>() + b * T + slot;
  bool* mask = out.mask.data_ptr<bool>() + b * T + slot;
  const auto& mean = data.state_mean();
  const auto& inv_std = data.state_inv_std();
  const float scale = static_cast<float>(1.0 / opt.return_scale);
  for (int64_t k = 0; k < count; ++k) {
    const int64_t i = e.start + first + k;
    const float* s = data.observation(i);
    if (opt.normalize_states) {
      for (int64_t j = 0; j < od; ++j) states[k * od + j] = (s[j] - mean[j]) * inv_std[j];
    } else {
      std::memcpy(states + k * od, s, sizeof(float) * od);
    }
    std::memcpy(actions + k * ad, data.action(i), sizeof(float) * ad);
    rewards[k] = data.reward(i);
    rtg[k] = data.return_to_go(i) * scale;
    steps[k] = std::min(first + k, opt.max_timestep - 1);
    mask[k] = true;
  }
}

}  // namespace

WindowSampler::WindowSampler(const TrajectoryDataset& data, int64_t context, BatchOptions options, uint64_t seed)
    : data_(data), context_(context), options_(options), rng_(seed) {
  if (context <= 0) throw std::invalid_argument("window sampler: context K must be > 0");
}

SequenceBatch WindowSampler::sample(int64_t batch_size) { return sample(batch_size, 0, batch_size); }

namespace {
void check_slice(const char* who, int64_t batch_size, int64_t first, int64_t count) {
  if (batch_size <= 0 || first < 0 || count <= 0 || first + count > batch_size)
    throw std::invalid_argument(std::string(who) + ": slice [" + std::to_string(first) + ", " +
                                std::to_string(first + count) + ") of a batch of " + std::to_string(batch_size));
}
}  // namespace

SequenceBatch WindowSampler::sample(int64_t batch_size, int64_t first_item, int64_t item_count) {
  check_slice("window sampler", batch_size, first_item, item_count);
  auto out = allocate(item_count, context_, data_.obs_dim(), data_.act_dim());
  // A step uniform over all steps = an episode with probability proportional
  // to its length and a start uniform within it (DT's rule) in one draw.
  std::uniform_int_distribution<int64_t> any_step(0, data_.num_steps() - 1);
  for (int64_t b = 0; b < batch_size; ++b) {
    const int64_t i = any_step(rng_);
    if (b < first_item || b >= first_item + item_count) continue;  // another rank's window
    const auto& e = data_.episodes()[data_.episode_of(i)];
    const int64_t first = i - e.start;
    const int64_t count = std::min(context_, e.length - first);
    fill(data_, options_, out, b - first_item, context_ - count, e, first, count);  // left padding
  }
  return out;
}

namespace {
std::string save_rng(const std::mt19937_64& rng) {
  std::ostringstream os;
  os << rng;
  return os.str();
}
void load_rng(std::mt19937_64& rng, const std::string& state) {
  std::istringstream is(state);
  is >> rng;
  if (!is) throw std::invalid_argument("sampler: bad random-generator state");
}
}  // namespace

std::string WindowSampler::rng_state() const { return save_rng(rng_); }
void WindowSampler::set_rng_state(const std::string& state) { load_rng(rng_, state); }
std::string EpisodeSampler::rng_state() const { return save_rng(rng_); }
void EpisodeSampler::set_rng_state(const std::string& state) { load_rng(rng_, state); }

EpisodeSampler::EpisodeSampler(const TrajectoryDataset& data, BatchOptions options, uint64_t seed)
    : data_(data), options_(options), rng_(seed) {}

SequenceBatch EpisodeSampler::sample(int64_t batch_size) { return sample(batch_size, 0, batch_size); }

SequenceBatch EpisodeSampler::sample(int64_t batch_size, int64_t first, int64_t count) {
  check_slice("episode sampler", batch_size, first, count);
  std::uniform_int_distribution<int64_t> any_step(0, data_.num_steps() - 1);
  std::vector<int64_t> indices(batch_size);
  for (auto& k : indices) k = data_.episode_of(any_step(rng_));
  return episodes(std::vector<int64_t>(indices.begin() + first, indices.begin() + first + count));
}

SequenceBatch EpisodeSampler::episodes(const std::vector<int64_t>& indices) const {
  int64_t T = 0;
  for (auto k : indices) {
    if (k < 0 || k >= data_.num_episodes())
      throw std::out_of_range("episode sampler: episode index " + std::to_string(k) + " out of range");
    T = std::max(T, data_.episodes()[k].length);
  }
  auto out = allocate(static_cast<int64_t>(indices.size()), T, data_.obs_dim(), data_.act_dim());
  for (size_t b = 0; b < indices.size(); ++b) {
    const auto& e = data_.episodes()[indices[b]];
    fill(data_, options_, out, static_cast<int64_t>(b), 0, e, 0, e.length);  // right padding
  }
  return out;
}

std::vector<SequenceBatch> EpisodeSampler::chunks(const SequenceBatch& batch, int64_t max_len) {
  if (max_len <= 0) throw std::invalid_argument("episode chunks: max_len must be > 0");
  std::vector<SequenceBatch> out;
  for (int64_t start = 0; start < batch.length(); start += max_len)
    out.push_back(batch.narrow(start, std::min(max_len, batch.length() - start)));
  return out;
}

}  // namespace aaren::data
