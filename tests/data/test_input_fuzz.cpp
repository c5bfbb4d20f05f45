// Seeded fuzzing of what users hand the toolkit: damaged HDF5 files and
// damaged checkpoints. Every mutant must give a result or one line naming the
// file: no crash, no hang, no damaged checkpoint that loads.
//
// AAREN_FUZZ_MUTANTS=N (default 300 per base file and for checkpoints) and AAREN_FUZZ_SEED=S
// scale and vary the run (docs/RELIABILITY.md gives the recipe and counts).
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <random>

#include "agents/checkpoint/checkpoint.h"
#include "agents/training/decision_trainer.h"
#include "data/hdf5_io.h"
#include "tests/apps/run_aaren.h"
#include "tests/data/fixtures.h"

using aaren::testing::text_of;

namespace {

int64_t env_int(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::stoll(v) : fallback;
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// One random damage: flipped bits, an overwritten run, a truncation, or junk
// appended. Never the identity.
std::string mutate(std::string bytes, std::mt19937_64& rng) {
  auto pos = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  auto byte = [&] { return static_cast<char>(std::uniform_int_distribution<int>(1, 255)(rng)); };
  switch (std::uniform_int_distribution<int>(0, 9)(rng)) {
    case 0:  // truncate
      bytes.resize(pos(bytes.size()));
      break;
    case 1:  // append junk
      for (int i = 0, n = 1 + static_cast<int>(pos(64)); i < n; ++i) bytes.push_back(byte());
      break;
    case 2:
    case 3: {  // overwrite a run of up to 32 bytes
      const size_t at = pos(bytes.size()), n = std::min<size_t>(1 + pos(32), bytes.size() - at);
      for (size_t i = 0; i < n; ++i) bytes[at + i] ^= byte();
      break;
    }
    default:  // flip 1-4 bytes (XOR with a non-zero byte: always a change)
      for (int i = 0, n = 1 + static_cast<int>(pos(4)); i < n; ++i) bytes[pos(bytes.size())] ^= byte();
  }
  return bytes;
}

// 200 random hopper-sized transitions in 4 episodes, with nested metadata, by
// our writer (the checksummed HDF5 1.10 format), in chunks of 64 rows.
void write_small_dataset(const std::string& path) {
  aaren::data::Transitions t;
  t.size = 200, t.obs_dim = 11, t.act_dim = 3, t.has_timeouts = true;
  std::mt19937 rng(7);
  std::normal_distribution<float> n;
  for (int i = 0; i < 200 * 11; ++i) t.observations.push_back(n(rng));
  for (int i = 0; i < 200 * 3; ++i) t.actions.push_back(n(rng));
  for (int i = 0; i < 200; ++i)
    t.rewards.push_back(n(rng)), t.terminals.push_back(i % 50 == 49), t.timeouts.push_back(0);
  t.metadata = {{"env_name", "hopper"}, {"command", "aaren collect --env hopper"}, {"policy/step", "85000"}};
  aaren::data::WriteOptions options;
  options.chunk_rows = 64;
  aaren::data::write_d4rl(path, t, options);
}

// One update of a small Aaren agent on the bundled data: a checkpoint in a second.
aaren::TrainConfig tiny_run(const std::string& out_dir) {
  aaren::TrainConfig c;
  c.dataset = AAREN_SOURCE_DIR "/data/bundled/hopper-mixed-v0.hdf5";
  c.out_dir = out_dir;
  c.embed_dim = 16, c.n_layers = 1, c.max_ep_len = 200, c.updates = 1, c.eval_episodes = 1, c.threads = 1;
  c.aaren_batch = 1;
  return c;
}

bool one_line_naming(const std::string& what, const std::string& path) {
  return what.rfind(path + ": ", 0) == 0 && what.find('\n') == std::string::npos;
}

}  // namespace

TEST_CASE("fuzz: damaged HDF5 files give data or one line, never a crash or a hang", "[data][fuzz]") {
  const auto dir = aaren::testing::temp_dir("fuzz_data");
  // Base files: one written by h5py (HDF5's old format, variable-length
  // metadata strings in the global heap, nested metadata), one by our writer
  // (the checksummed 1.10 format).
  std::vector<std::string> bases;
  REQUIRE_H5PY();
  bases.push_back(aaren::testing::h5py_fixtures() + "/hopper-medium-v2.hdf5");
  bases.push_back(dir + "/ours.hdf5");
  write_small_dataset(bases.back());
  const int64_t per_base = env_int("AAREN_FUZZ_MUTANTS", 300);
  std::mt19937_64 rng(static_cast<uint64_t>(env_int("AAREN_FUZZ_SEED", 1)));
  std::map<std::string, int> outcomes;
  std::vector<std::string> cli_samples;  // mutants that failed, for the command-line check below
  const auto start = std::chrono::steady_clock::now();
  int index = 0;
  for (const auto& base : bases) {
    const std::string label = base.find("ours.hdf5") != std::string::npos ? "ours: " : "h5py: ";
    const auto original = text_of(base);
    REQUIRE(original.size() > 100);
    const auto reference = aaren::data::read_dataset(base);
    for (int64_t k = 0; k < per_base; ++k, ++index) {
      const auto path = dir + "/mutant" + std::to_string(index) + ".hdf5";
      write_bytes(path, mutate(original, rng));
      try {
        const auto t = aaren::data::read_dataset_isolated(path, /*timeout_seconds=*/10);
        // A mutant that still reads: only through damage HDF5 cannot see
        // (raw data without a checksum), never with a different shape.
        const bool same = t.observations == reference.observations && t.actions == reference.actions &&
                          t.rewards == reference.rewards && t.terminals == reference.terminals;
        ++outcomes[label + (same ? "read, same data" : "read, data differs (unchecksummed raw data)")];
        CHECK(t.obs_dim == reference.obs_dim);
        CHECK(t.act_dim == reference.act_dim);
        CHECK(t.size == reference.size);
      } catch (const aaren::data::DataError& e) {
        const std::string what = e.what();
        INFO(what);
        CHECK(one_line_naming(what, path));
        if (what.find("crashed") != std::string::npos)
          ++outcomes[label + "libhdf5 crashed, contained: one line"];
        else if (what.find("did not finish") != std::string::npos)
          ++outcomes[label + "libhdf5 stalled, contained: one line"];
        else
          ++outcomes[label + "refused: one line"];
        if (cli_samples.size() < 6 || what.find("crashed") != std::string::npos ||
            what.find("did not finish") != std::string::npos)
          cli_samples.push_back(path);
        continue;
      }
      std::filesystem::remove(path);
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "[fuzz data] " << index << " mutants in " << seconds << " s:";
  for (const auto& [what, n] : outcomes) std::cout << " " << what << " = " << n << ";";
  std::cout << std::endl;

  // The command line: exit 2 and one line on stderr, for a few of them
  // (every crash and stall among them).
  for (size_t k = 0; k < cli_samples.size() && k < 12; ++k) {
    const auto r = aaren::testing::run_aaren_stderr("data inspect " + cli_samples[k]);
    INFO(cli_samples[k] << ": " << r.output);
    CHECK(r.exit_code == 2);
    CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
  }
}

TEST_CASE("fuzz: a damaged checkpoint never loads", "[agents][fuzz]") {
  const auto dir = aaren::testing::temp_dir("fuzz_ckpt");
  const auto c = tiny_run(dir + "/run");
  // What a run killed while writing a checkpoint leaves: removed by the next
  // run in that folder (its writer, pid 2^22 + 1, cannot exist).
  std::filesystem::create_directories(c.out_dir);
  write_bytes(c.out_dir + "/checkpoint_500.pt.aaren-tmp.4194305", "half a checkpoint");
  write_bytes(c.out_dir + "/thesis.tmp.20240101", "a user's file, whose name only looks like one");
  const auto result = aaren::train_decision(c);
  CHECK(!std::filesystem::exists(c.out_dir + "/checkpoint_500.pt.aaren-tmp.4194305"));
  CHECK(text_of(c.out_dir + "/thesis.tmp.20240101") == "a user's file, whose name only looks like one");
  const auto original = text_of(result.checkpoint);
  const auto good = aaren::load_checkpoint(result.checkpoint);  // the undamaged file loads
  REQUIRE(good.model);

  const int64_t mutants = env_int("AAREN_FUZZ_MUTANTS", 300);
  std::mt19937_64 rng(static_cast<uint64_t>(env_int("AAREN_FUZZ_SEED", 1)) + 1);
  int refused = 0;
  for (int64_t k = 0; k < mutants; ++k) {
    const auto path = dir + "/mutant" + std::to_string(k) + ".pt";
    write_bytes(path, mutate(original, rng));
    try {
      aaren::load_checkpoint(path);
      FAIL("a damaged checkpoint loaded: " << path);
    } catch (const std::runtime_error& e) {
      INFO(e.what());
      CHECK(one_line_naming(e.what(), path));
      ++refused;
    }
    std::filesystem::remove(path);
  }
  std::cout << "[fuzz checkpoints] " << mutants << " mutants: refused with one line = " << refused << std::endl;
  // Through the command line: exit 2 and one line, as for every bad input.
  write_bytes(dir + "/bad.pt", mutate(original, rng));
  for (const std::string& command :
       {std::string("rollout --episodes 1 --checkpoint "), "export --out " + dir + "/p.bin --checkpoint ",
        "train --out " + dir + "/resumed --updates 2 --resume "}) {
    INFO(command);
    const auto r = aaren::testing::run_aaren_stderr(command + dir + "/bad.pt");
    INFO(r.output);
    CHECK(r.exit_code == 2);
    CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
  }
  CHECK(!std::filesystem::exists(dir + "/resumed"));  // a run refused at its input leaves no folder
}

// A checkpoint of an older aaren-rl has no seal (no checksum): damage to it can
// go unseen (its loading warns so), but what is found is one line naming the
// file, whatever part of LibTorch's reader finds it (the zip directory, the
// TorchScript code, the records' map).
TEST_CASE("fuzz: a damaged unsealed checkpoint loads or is refused with one line", "[agents][fuzz]") {
  const auto dir = aaren::testing::temp_dir("fuzz_legacy");
  const auto c = tiny_run(dir + "/run");
  const auto sealed = text_of(aaren::train_decision(c).checkpoint);
  const auto unsealed = sealed.substr(32);  // runtime/sealed_file.h: a 32-byte header before the payload
  REQUIRE(unsealed.rfind("PK\x03\x04", 0) == 0);
  write_bytes(dir + "/unsealed.pt", unsealed);
  REQUIRE(aaren::load_checkpoint(dir + "/unsealed.pt").model);

  const int64_t mutants = env_int("AAREN_FUZZ_MUTANTS", 300);
  std::mt19937_64 rng(static_cast<uint64_t>(env_int("AAREN_FUZZ_SEED", 1)) + 2);
  int loaded = 0, refused = 0, crashed = 0;
  for (int64_t k = 0; k < mutants; ++k) {
    const auto path = dir + "/mutant" + std::to_string(k) + ".pt";
    auto bytes = mutate(unsealed, rng);
    if (bytes.rfind("PK\x03\x04", 0) != 0) continue;  // no longer a zip at all: refused before LibTorch (above)
    write_bytes(path, bytes);
    try {
      aaren::load_checkpoint(path);
      ++loaded;
    } catch (const std::runtime_error& e) {
      INFO(e.what());
      CHECK(one_line_naming(e.what(), path));
      ++refused;
      crashed += std::string(e.what()).find("LibTorch's reader crashed") != std::string::npos;
    } catch (const std::exception& e) {
      FAIL("not a runtime_error naming the file: " << e.what());
    }
    std::filesystem::remove(path);
  }
  std::cout << "[fuzz unsealed checkpoints] " << mutants << " mutants: loaded " << loaded << ", refused with one line "
            << refused << " (LibTorch's reader crashed, in a child process, on " << crashed << ")" << std::endl;
  CHECK(refused > 0);
}
