// A lean policy file with random weights and the LibTorch parameter names,
// for runtime tests that do without LibTorch.
#pragma once

#include <random>
#include <string>

#include "runtime/policy_file.h"

namespace aaren::testing {

struct PolicySizes {
  int64_t state_dim = 11, act_dim = 3, d_model = 32, n_layers = 2, n_heads = 2, ff_dim = 64, max_ep_len = 40;
  std::string backbone = "aaren";  // or "lstm" (n_heads then unused by the mixer)
};

inline lean::PolicyFile random_policy_file(const PolicySizes& z, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.3f);
  lean::PolicyFile f;
  f.header = {{"backbone", z.backbone},
              {"tokens", "interleaved"},
              {"env", "hopper"},
              {"state_dim", std::to_string(z.state_dim)},
              {"act_dim", std::to_string(z.act_dim)},
              {"d_model", std::to_string(z.d_model)},
              {"n_layers", std::to_string(z.n_layers)},
              {"n_heads", std::to_string(z.n_heads)},
              {"ff_dim", std::to_string(z.ff_dim)},
              {"max_ep_len", std::to_string(z.max_ep_len)},
              {"return_scale", "1000"},
              {"target_return", "3600"}};
  auto add = [&](const std::string& name, std::vector<int64_t> dims, float offset = 0.0f) {
    lean::FloatTensor t{dims, {}};
    int64_t n = 1;
    for (auto d : dims) n *= d;
    for (int64_t i = 0; i < n; ++i) t.data.push_back(offset + normal(rng));
    f.tensors[name] = std::move(t);
  };
  const int64_t D = z.d_model;
  auto linear = [&](const std::string& name, int64_t out, int64_t in) {
    add(name + ".weight", {out, in});
    add(name + ".bias", {out});
  };
  auto layer_norm = [&](const std::string& name) {
    add(name + ".weight", {D}, 1.0f);
    add(name + ".bias", {D});
  };
  add("state_mean", {z.state_dim});
  add("state_inv_std", {z.state_dim}, 1.0f);
  add("embed_timestep.weight", {z.max_ep_len, D});
  linear("embed_return", D, 1);
  linear("embed_state", D, z.state_dim);
  linear("embed_action", D, z.act_dim);
  layer_norm("embed_ln");
  for (int64_t l = 0; l < z.n_layers; ++l) {
    const std::string b = "backbone.block" + std::to_string(l) + ".";
    layer_norm(b + "ln_mix");
    layer_norm(b + "ln_ff");
    if (z.backbone == "lstm") {  // torch::nn::LSTM's names, gates i, f, g, o stacked
      add(b + "mixer.lstm.weight_ih_l0", {4 * D, D});
      add(b + "mixer.lstm.weight_hh_l0", {4 * D, D});
      add(b + "mixer.lstm.bias_ih_l0", {4 * D});
      add(b + "mixer.lstm.bias_hh_l0", {4 * D});
    } else {
      add(b + "mixer.query", {z.n_heads, D / z.n_heads});
      linear(b + "mixer.key", D, D);
      linear(b + "mixer.value", D, D);
      linear(b + "mixer.out", D, D);
    }
    linear(b + "ff.fc_in", z.ff_dim, D);
    linear(b + "ff.fc_out", D, z.ff_dim);
  }
  layer_norm("backbone.ln_final");
  linear("predict_action", z.act_dim, D);
  return f;
}

}  // namespace aaren::testing
