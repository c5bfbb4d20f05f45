// The lean runtime alone (no LibTorch in this binary): no heap allocation
// while stepping, the policy file's errors, and the GELU approximation.
#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <new>

#include "base/atomic_file.h"
#include "runtime/lean_policy.h"
#include "tests/runtime/random_policy_file.h"

// Every allocation in this binary goes through these; they count while
// counting is switched on (then any allocation at all is seen).
namespace {
std::atomic<bool> counting{false};
std::atomic<long> allocations{0};
void* counted(std::size_t size) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void* counted_aligned(std::size_t size, std::align_val_t align) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  void* p = nullptr;
  if (posix_memalign(&p, std::max(sizeof(void*), static_cast<std::size_t>(align)), size ? size : 1) == 0) return p;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t size) { return counted(size); }
void* operator new[](std::size_t size) { return counted(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return counted(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return counted(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new(std::size_t size, std::align_val_t a) { return counted_aligned(size, a); }
void* operator new[](std::size_t size, std::align_val_t a) { return counted_aligned(size, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

using aaren::lean::Model;
using aaren::lean::Policy;
using aaren::lean::PolicyFileError;

namespace {
std::string temp_path(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / "aaren_runtime_tests";
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}
}  // namespace

TEST_CASE("lean runtime: stepping allocates nothing on the heap (Aaren, LSTM)", "[runtime]") {
  for (std::string backbone : {"aaren", "lstm"})
    for (std::string tokens : {"interleaved", "fused"}) {
      INFO(backbone << " " << tokens);
      aaren::testing::PolicySizes sizes;
      sizes.backbone = backbone;
      auto file = aaren::testing::random_policy_file(sizes, 1);
      file.header["tokens"] = tokens;
      const auto model = std::make_shared<const Model>(Model::from_file(file, "t"));
      Policy policy(model);
      allocations = 0;
      std::vector<double> obs(sizes.state_dim), action(sizes.act_dim);
      // The counter works: an allocation while counting is seen.
      counting = true;
      delete new int(3);
      counting = false;
      REQUIRE(allocations.load() == 1);
      allocations = 0;
      counting = true;
      for (int episode = 0; episode < 3; ++episode) {
        policy.reset();
        for (int t = 0; t < 100; ++t) {  // past max_ep_len (40): clipped timesteps too
          for (int64_t i = 0; i < sizes.state_dim; ++i) obs[i] = std::sin(0.1 * t + i);
          policy.act(obs.data(), action.data());
          policy.observe(1.0);
        }
      }
      counting = false;
      CHECK(allocations.load() == 0);
      for (double a : action) CHECK(std::isfinite(a));
      // Aaren: (m, u) per head and w [D]; the LSTM: (h, c) [D] each; per layer.
      const int64_t per_layer = backbone == "lstm" ? 2 * sizes.d_model : 2 * sizes.n_heads + sizes.d_model;
      CHECK(policy.state_bytes() == static_cast<int64_t>(sizeof(float)) * sizes.n_layers * per_layer);
    }
}

TEST_CASE("lean runtime: the same inputs give the same actions, and episodes are independent", "[runtime]") {
  aaren::testing::PolicySizes sizes;
  const auto model = std::make_shared<const Model>(Model::from_file(aaren::testing::random_policy_file(sizes, 2), "t"));
  Policy a(model), b(model);
  std::vector<double> obs(sizes.state_dim, 0.5), x(sizes.act_dim), y(sizes.act_dim), first(sizes.act_dim);
  for (int t = 0; t < 20; ++t) {
    a.act(obs.data(), x.data());
    if (t == 0) first = x;
    a.observe(0.5);
  }
  a.reset();  // a fresh episode on a used policy == a new policy
  a.act(obs.data(), x.data());
  b.act(obs.data(), y.data());
  CHECK(x == y);
  CHECK(x == first);
}

TEST_CASE("lean runtime: GELU's erf approximation == std::erf to float precision", "[runtime]") {
  double worst = 0;
  for (int i = -200000; i <= 200000; ++i) {
    const float x = i * 5e-5f;  // [-10, 10]
    const double exact = 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
    worst = std::max(worst, std::abs(aaren::lean::gelu(x) - exact) / std::max(1.0, std::abs(exact)));
  }
  CHECK(worst < 1e-6);
  CHECK(aaren::lean::gelu(0.0f) == 0.0f);
  CHECK(aaren::lean::gelu(1e30f) == 1e30f);
  CHECK(aaren::lean::gelu(-1e30f) == 0.0f);
  CHECK(std::abs(aaren::lean::gelu(-1e-30f)) <= 1e-30f);
}

TEST_CASE("lean runtime: bad policy files give one clear error naming the file", "[runtime]") {
  aaren::testing::PolicySizes sizes;
  const auto good = aaren::testing::random_policy_file(sizes, 3);
  const auto path = temp_path("policy.bin");
  aaren::lean::write_policy_file(path, good);
  const auto back = aaren::lean::read_policy_file(path);
  CHECK(back.header == good.header);
  REQUIRE(back.tensors.size() == good.tensors.size());
  for (const auto& [name, t] : good.tensors) {
    CHECK(back.tensors.at(name).dims == t.dims);
    CHECK(back.tensors.at(name).data == t.data);
  }
  CHECK_FALSE(std::filesystem::exists(aaren::base::temp_file_name(path)));  // renamed into place, none left

  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto write_bytes = [&](const std::string& name, const std::string& content) {
    const auto p = temp_path(name);
    std::ofstream(p, std::ios::binary).write(content.data(), static_cast<std::streamsize>(content.size()));
    return p;
  };
  auto flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x40;
  CHECK_THROWS_WITH(Model::load(write_bytes("flipped.bin", flipped)),
                    Catch::Contains("flipped.bin") && Catch::Contains("checksum"));
  CHECK_THROWS_WITH(Model::load(write_bytes("short.bin", bytes.substr(0, bytes.size() / 3))),
                    Catch::Contains("short.bin") && (Catch::Contains("checksum") || Catch::Contains("truncated")));
  CHECK_THROWS_WITH(Model::load(write_bytes("foreign.bin", "PK\x03\x04 not a policy at all")),
                    Catch::Contains("foreign.bin") && Catch::Contains("AARENPOL"));
  auto future = bytes;
  future[8] = 9;  // version 9
  CHECK_THROWS_WITH(Model::load(write_bytes("future.bin", future)), Catch::Contains("version 9"));
  CHECK_THROWS_WITH(Model::load(temp_path("missing.bin")),
                    Catch::Contains("missing.bin") && Catch::Contains("no such"));

  auto missing = good;
  missing.tensors.erase("backbone.block1.ff.fc_in.weight");
  aaren::lean::write_policy_file(path, missing);
  CHECK_THROWS_WITH(Model::load(path),
                    Catch::Contains("policy.bin") && Catch::Contains("backbone.block1.ff.fc_in.weight"));
  auto reshaped = good;
  reshaped.tensors["predict_action.weight"] = {{sizes.act_dim + 1, sizes.d_model},
                                               std::vector<float>((sizes.act_dim + 1) * sizes.d_model)};
  aaren::lean::write_policy_file(path, reshaped);
  CHECK_THROWS_WITH(Model::load(path), Catch::Contains("predict_action.weight") && Catch::Contains("expected [3, 32]"));
  auto transformer = good;
  transformer.header["backbone"] = "transformer";
  aaren::lean::write_policy_file(path, transformer);
  CHECK_THROWS_WITH(Model::load(path),
                    Catch::Contains("backbone is 'transformer'; the lean runtime runs aaren and lstm"));
  auto layout = good;
  layout.header["tokens"] = "quad";
  aaren::lean::write_policy_file(path, layout);
  CHECK_THROWS_WITH(Model::load(path), Catch::Contains("token layout 'quad'"));
  auto diverged = good;
  diverged.tensors["predict_action.weight"].data[5] = std::nanf("");
  aaren::lean::write_policy_file(path, diverged);
  CHECK_THROWS_WITH(Model::load(path), Catch::Contains("policy.bin: tensor 'predict_action.weight' holds a value "
                                                       "that is not finite at 5"));
  auto text = good;
  text.header["d_model"] = "wide";
  aaren::lean::write_policy_file(path, text);
  CHECK_THROWS_WITH(Model::load(path), Catch::Contains("d_model") && Catch::Contains("integer"));
  CHECK_THROWS_AS(aaren::lean::write_policy_file(temp_path("no/such/dir/p.bin"), good), PolicyFileError);
}
