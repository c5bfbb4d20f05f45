// D4RL/Minari readers and the D4RL writer against files made by h5py.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cmath>
#include <fstream>
#include <functional>

#include "base/file_hash.h"
#include "data/hdf5_io.h"
#include "tests/data/fixtures.h"

using aaren::data::DataError;
using aaren::data::Transitions;
using aaren::testing::h5py_fixtures;

namespace {
// The content every good fixture shares (see make_fixtures.py).
void check_fixture_content(const Transitions& t, bool expect_timeouts) {
  REQUIRE(t.size == 10);
  REQUIRE(t.obs_dim == 4);
  REQUIRE(t.act_dim == 2);
  for (int i = 0; i < 10; ++i) {
    for (int j = 0; j < 4; ++j) CHECK(t.observations[i * 4 + j] == static_cast<float>(i + j / 100.0));
    for (int j = 0; j < 2; ++j) CHECK(t.actions[i * 2 + j] == static_cast<float>((i - j) / 10.0));
    CHECK(t.rewards[i] == static_cast<float>(i + 1));
    CHECK(t.terminals[i] == (i == 3));
    CHECK(t.timeouts[i] == (expect_timeouts && i == 6));
  }
  CHECK(t.has_timeouts == expect_timeouts);
}
}  // namespace

TEST_CASE("data: h5py files in float32/float64, rewards (N,)/(N,1), bool/uint8 flags", "[data]") {
  REQUIRE_H5PY();
  const auto& dir = h5py_fixtures();
  auto a = aaren::data::read_d4rl(dir + "/f32_bool.hdf5");
  check_fixture_content(a, true);
  CHECK(a.dtypes["observations"] == "float32");
  CHECK(a.dtypes["terminals"] == "bool");
  auto b = aaren::data::read_d4rl(dir + "/f64_rew2d_uint8.hdf5");
  check_fixture_content(b, true);
  CHECK(b.dtypes["observations"] == "float64");
  CHECK(b.dtypes["terminals"] == "uint8");
}

TEST_CASE("data: episode split, returns and returns-to-go by hand", "[data]") {
  REQUIRE_H5PY();
  const auto t = aaren::data::read_d4rl(h5py_fixtures() + "/f32_bool.hdf5");
  auto split = aaren::data::split_episodes(t);
  // Rewards 1..10; terminal at 3, timeout at 6, then 3 steps without an end.
  REQUIRE(split.episodes.size() == 2);
  CHECK(split.episodes[0].start == 0);
  CHECK(split.episodes[0].length == 4);
  CHECK(split.episodes[0].terminated);
  CHECK(!split.episodes[0].timed_out);
  CHECK(split.episodes[0].episode_return == 1 + 2 + 3 + 4);
  CHECK(split.episodes[1].start == 4);
  CHECK(split.episodes[1].length == 3);
  CHECK(split.episodes[1].timed_out);
  CHECK(split.episodes[1].episode_return == 5 + 6 + 7);
  CHECK(split.partial_steps == 3);
  CHECK(!split.partial_kept);

  auto kept = aaren::data::split_episodes(t, /*keep_partial=*/true);
  REQUIRE(kept.episodes.size() == 3);
  CHECK(kept.episodes[2].length == 3);
  CHECK(kept.episodes[2].episode_return == 8 + 9 + 10);
  CHECK(kept.partial_kept);

  // v0 file: only terminals end episodes.
  const auto v0 = aaren::data::read_d4rl(h5py_fixtures() + "/v0_no_timeouts.hdf5");
  check_fixture_content(v0, false);
  auto s0 = aaren::data::split_episodes(v0);
  REQUIRE(s0.episodes.size() == 1);
  CHECK(s0.partial_steps == 6);
}

TEST_CASE("data: optional keys and metadata", "[data]") {
  REQUIRE_H5PY();
  const auto t = aaren::data::read_d4rl(h5py_fixtures() + "/hopper-medium-v2.hdf5");
  check_fixture_content(t, true);
  REQUIRE(t.next_observations.size() == 40);
  CHECK(t.next_observations[5] == t.observations[5] + 1.0f);
  REQUIRE(t.nq == 5);
  REQUIRE(t.nv == 3);
  CHECK(t.qpos[7] == 7.0 / 7);
  CHECK(t.qvel[4] == -4.0 / 3);
  CHECK(t.metadata.at("algorithm") == "SAC");
  CHECK(t.metadata.at("env_name") == "hopper");
  CHECK(t.metadata.at("iteration") == "42");
}

TEST_CASE("data: Minari layout", "[data]") {
  REQUIRE_H5PY();
  for (const std::string& path : {h5py_fixtures() + "/minari", h5py_fixtures() + "/minari/data/main_data.hdf5"}) {
    const auto t = aaren::data::read_dataset(path);
    REQUIRE(t.size == 7);
    CHECK(t.episode_starts == std::vector<int64_t>{0, 4});
    // observations drop each episode's final row; next_observations hold it.
    CHECK(t.observations[4 * 4] == 4.0f);       // episode 1 starts at fixture row 4
    CHECK(t.next_observations[3 * 4] == 4.0f);  // last step of episode 0 -> row 4
    CHECK(t.next_observations[6 * 4] == 7.0f);  // last step of episode 1 -> row 7
    auto split = aaren::data::split_episodes(t);
    REQUIRE(split.episodes.size() == 2);
    CHECK(split.episodes[0].terminated);
    CHECK(split.episodes[1].timed_out);
    CHECK(split.episodes[1].episode_return == 5 + 6 + 7);
  }
}

TEST_CASE("data: writer -> reader round trip is exact, and h5py reads the file", "[data][environment]") {
  const auto dir = aaren::testing::temp_dir("roundtrip");
  Transitions t;
  t.size = 257, t.obs_dim = 11, t.act_dim = 3, t.nq = 6, t.nv = 6;
  torch::manual_seed(21);
  auto fill = [](auto& v, int64_t n, double scale) {
    auto r = torch::randn({n}, torch::kFloat64) * scale;
    v.resize(n);
    for (int64_t i = 0; i < n; ++i)
      v[i] = static_cast<typename std::decay_t<decltype(v)>::value_type>(r[i].item<double>());
  };
  fill(t.observations, t.size * t.obs_dim, 3.0);
  fill(t.actions, t.size * t.act_dim, 1.0);
  fill(t.rewards, t.size, 10.0);
  fill(t.next_observations, t.size * t.obs_dim, 3.0);
  fill(t.qpos, t.size * t.nq, 1e3);  // float64: must survive bit for bit
  fill(t.qvel, t.size * t.nv, 1e-3);
  t.terminals.assign(t.size, 0);
  t.timeouts.assign(t.size, 0);
  t.terminals[99] = 1;
  t.timeouts[199] = 1;
  t.has_timeouts = true;
  t.metadata = {{"env_name", "hopper"}, {"made_by", "aaren collect --seed 3"}};
  const auto path = dir + "/roundtrip.hdf5";
  aaren::data::WriteOptions opt;
  opt.chunk_rows = 50;  // several chunks
  aaren::data::write_d4rl(path, t, opt);

  const auto r = aaren::data::read_d4rl(path);
  CHECK(r.size == t.size);
  CHECK(r.observations == t.observations);
  CHECK(r.actions == t.actions);
  CHECK(r.rewards == t.rewards);
  CHECK(r.next_observations == t.next_observations);
  CHECK(r.qpos == t.qpos);
  CHECK(r.qvel == t.qvel);
  CHECK(r.terminals == t.terminals);
  CHECK(r.timeouts == t.timeouts);
  CHECK(r.metadata == t.metadata);
  CHECK(r.dtypes.at("terminals") == "bool");

  REQUIRE_H5PY();
  const std::string script = "/usr/bin/python3 -c \"import h5py, numpy as np; f = h5py.File('" + path +
                             "', 'r'); print(f['observations'].shape, f['terminals'].dtype, f['infos/qpos'].dtype, "
                             "int(np.argmax(f['terminals'][:])), int(np.argmax(f['timeouts'][:])), "
                             "f['metadata/env_name'][()].decode(), '%.9g' % float(np.sum(f['infos/qpos'][:])))\"";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(script.c_str(), "r"), pclose);
  char buf[512] = {0};
  REQUIRE(fgets(buf, sizeof buf, pipe.get()));
  double qsum = 0;
  for (double x : t.qpos) qsum += x;
  char expect_sum[64];
  std::snprintf(expect_sum, sizeof expect_sum, "%.9g", qsum);
  const std::string line(buf);
  CHECK_THAT(line, Catch::StartsWith("(257, 11) bool float64 99 199 hopper"));
  CHECK_THAT(line, Catch::Contains(expect_sum));
}

TEST_CASE("data: bad files give one line naming the file, the key and what was expected", "[data]") {
  REQUIRE_H5PY();
  const auto& dir = h5py_fixtures();
  const std::vector<std::pair<std::string, std::string>> cases{
      {"bad_missing_actions.hdf5", "key 'actions': missing"},
      {"bad_length.hdf5", "key 'actions': has 9 rows, expected 10 (the length of 'observations')"},
      {"minari_bad_length/data/main_data.hdf5",
       "key 'episode_0/actions': has 5 rows, expected 4 (one per step: the episode's "
       "observations hold one row more)"},
      {"bad_rank.hdf5", "key 'observations': shape (10, 2, 2), expected rank 2"},
      {"bad_rewards_rank.hdf5", "key 'rewards': shape (10, 1, 1), expected (N,) or (N, 1)"},
      {"bad_strings.hdf5", "key 'observations': dtype string, expected numeric data"},
      {"bad_nan.hdf5", "key 'observations': NaN at row 5"},
      {"bad_inf.hdf5", "key 'rewards': inf at row 7"},
      {"bad_huge_reward.hdf5", "key 'rewards': -1e+30 at row 4, expected values within +-2^64"},
      {"bad_no_rows.hdf5", "key 'observations': has no rows"},
      {"bad_group.hdf5", "key 'rewards': is a group, expected a dataset"},
      {"bad_huge_shape.hdf5", "key 'observations': shape (8589934592, 2147483648): more values than can be counted"},
      {"bad_huge_memory.hdf5",  // 2^45 x 4 values of 4 bytes (it crashed the reader before)
       "key 'observations': shape (35184372088832, 4): 562949953421312 bytes (524288.0 GiB) to read, more than the "},
      {"bad_empty.hdf5", "the file is empty"},
      {"bad_not_hdf5.hdf5", "not an HDF5 file"},
      {"bad_truncated.hdf5", "truncated or corrupt"},
      {"bad_corrupt.hdf5", "truncated or corrupt"},
      {"does_not_exist.hdf5", "no such file"},
  };
  for (const auto& [file, message] : cases) {
    INFO(file);
    const auto path = dir + "/" + file;
    try {
      aaren::data::read_dataset(path);
      FAIL("no error for " << file);
    } catch (const DataError& e) {
      const std::string what = e.what();
      CHECK_THAT(what, Catch::StartsWith(path + ": "));
      CHECK_THAT(what, Catch::Contains(message));
      CHECK(what.find('\n') == std::string::npos);
    }
  }
}

TEST_CASE("data: v0 files (no timeouts) also end episodes at the 1000-step limit, as D4RL does", "[data]") {
  REQUIRE_H5PY();
  // HalfCheetah never terminates: 3000 steps are 3 time-limited episodes.
  const auto cheetah = aaren::data::read_dataset(h5py_fixtures() + "/v0_halfcheetah_style.hdf5");
  const auto a = aaren::data::split_episodes(cheetah);
  REQUIRE(a.episodes.size() == 3);
  CHECK(a.step_limit == 1000);
  CHECK(a.partial_steps == 0);
  for (const auto& e : a.episodes) CHECK((e.length == 1000 && e.timed_out && !e.terminated));
  // Hopper: a time-limited episode, then one that ends by falling.
  const auto hopper = aaren::data::read_dataset(h5py_fixtures() + "/v0_hopper_style.hdf5");
  const auto b = aaren::data::split_episodes(hopper);
  REQUIRE(b.episodes.size() == 2);
  CHECK((b.episodes[0].length == 1000 && b.episodes[0].timed_out));
  CHECK((b.episodes[1].start == 1000 && b.episodes[1].length == 200 && b.episodes[1].terminated));
  // Files with timeouts keep their own boundaries (the limit is not applied).
  const auto v2 = aaren::data::read_dataset(h5py_fixtures() + "/f32_bool.hdf5");
  CHECK(aaren::data::split_episodes(v2).step_limit == 0);
}

TEST_CASE("data: a metadata group that contains itself is read once, with a warning", "[data]") {
  REQUIRE_H5PY();
  const auto path = h5py_fixtures() + "/metadata_cycle.hdf5";
  const auto t = aaren::data::read_dataset(path);
  check_fixture_content(t, true);
  CHECK(t.metadata.at("env_name") == "hopper");
  REQUIRE(!t.warnings.empty());
  CHECK_THAT(t.warnings[0], Catch::StartsWith(path + ": key 'metadata/policy/loop'"));
  CHECK_THAT(t.warnings[0], Catch::Contains("not followed"));
}

// Every field, streamed array by array from the child: D4RL's, Minari's and old layouts, a file
// with warnings (a metadata cycle), and one of ours with MuJoCo's warm starts.
TEST_CASE("data: the isolated read returns what the direct read does, and the same errors", "[data]") {
  REQUIRE_H5PY();
  const auto& dir = h5py_fixtures();
  for (const std::string& path :
       {dir + "/f32_bool.hdf5", dir + "/hopper-medium-v2.hdf5", dir + "/minari", dir + "/v0_hopper_style.hdf5",
        dir + "/metadata_cycle.hdf5", std::string(AAREN_SOURCE_DIR "/data/bundled/hopper-mixed-v0.hdf5")}) {
    INFO(path);
    const auto direct = aaren::data::read_dataset(path);
    const auto isolated = aaren::data::read_dataset_isolated(path);
    CHECK(isolated.size == direct.size);
    CHECK(isolated.obs_dim == direct.obs_dim);
    CHECK(isolated.act_dim == direct.act_dim);
    CHECK(isolated.nq == direct.nq);
    CHECK(isolated.nv == direct.nv);
    CHECK(isolated.qacc_warmstart == direct.qacc_warmstart);
    CHECK(isolated.warnings == direct.warnings);
    CHECK(isolated.observations == direct.observations);
    CHECK(isolated.actions == direct.actions);
    CHECK(isolated.rewards == direct.rewards);
    CHECK(isolated.terminals == direct.terminals);
    CHECK(isolated.timeouts == direct.timeouts);
    CHECK(isolated.has_timeouts == direct.has_timeouts);
    CHECK(isolated.next_observations == direct.next_observations);
    CHECK(isolated.qpos == direct.qpos);
    CHECK(isolated.qvel == direct.qvel);
    CHECK(isolated.episode_starts == direct.episode_starts);
    CHECK(isolated.metadata == direct.metadata);
    CHECK(isolated.dtypes == direct.dtypes);
  }
  for (const std::string file : {"bad_length.hdf5", "bad_nan.hdf5", "bad_corrupt.hdf5", "does_not_exist.hdf5"}) {
    INFO(file);
    std::string direct, isolated;
    try {
      aaren::data::read_dataset(dir + "/" + file);
    } catch (const DataError& e) {
      direct = e.what();
    }
    try {
      aaren::data::read_dataset_isolated(dir + "/" + file);
    } catch (const DataError& e) {
      isolated = e.what();
    }
    CHECK(!direct.empty());
    CHECK(isolated == direct);
  }
}

TEST_CASE("data: a FIFO or a folder is refused at once, not read", "[data]") {
  const auto dir = aaren::testing::temp_dir("fifo");
  const auto fifo = dir + "/pipe.hdf5";
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  for (const bool isolated : {false, true}) {
    try {
      if (isolated)
        aaren::data::read_dataset_isolated(fifo);
      else
        aaren::data::read_d4rl(fifo);
      FAIL("a FIFO was read");
    } catch (const DataError& e) {
      CHECK_THAT(std::string(e.what()), Catch::Contains("not a regular file"));
    }
  }
  CHECK_THROWS_WITH(aaren::data::read_d4rl(dir), Catch::Contains("is a directory"));
}

TEST_CASE(
    "data: a D4RL file's arrays checksum ignores how the file was written, sees every value, equals the "
    "checksum script's",
    "[data]") {
  const auto dir = aaren::testing::temp_dir("arrays_sha256");
  Transitions t;
  t.size = 300, t.obs_dim = 5, t.act_dim = 2;
  torch::manual_seed(5);
  const auto fill = [](std::vector<float>& v, int64_t n) {
    const auto r = torch::randn({n});
    v.assign(r.data_ptr<float>(), r.data_ptr<float>() + n);
  };
  fill(t.observations, t.size * t.obs_dim);
  fill(t.actions, t.size * t.act_dim);
  fill(t.rewards, t.size);
  t.terminals.assign(t.size, 0);
  t.timeouts.assign(t.size, 0);
  t.terminals[120] = 1;
  t.timeouts[299] = 1;
  t.has_timeouts = true;
  const auto a = dir + "/a.hdf5", b = dir + "/b.hdf5", c = dir + "/c.hdf5";
  aaren::data::write_d4rl(a, t);
  aaren::data::WriteOptions other;
  other.gzip_level = 9, other.chunk_rows = 7;
  t.metadata = {{"made_by", "another writer"}};
  aaren::data::write_d4rl(b, t, other);
  // Other bytes on disk, the same arrays.
  CHECK(aaren::base::sha256_of_file(a) != aaren::base::sha256_of_file(b));
  const auto sum = aaren::data::d4rl_arrays_sha256(a);
  CHECK(sum.size() == 64);
  CHECK(aaren::data::d4rl_arrays_sha256(b) == sum);
  // Read in blocks of 1 byte (a row at a time), 60 bytes (3 rows of observations) or 1000 (50 rows of
  // observations, 125 of actions): the same checksum.
  for (int64_t block_bytes : {1, 60, 1000}) {
    CHECK(aaren::data::d4rl_arrays_sha256(a, block_bytes) == sum);
    CHECK(aaren::data::d4rl_arrays_sha256(b, block_bytes) == sum);  // blocks across gzip chunks of 7 rows
  }
  // One value of any array changed by one ulp, or one flag moved: another checksum.
  const auto changed = [&](const char* what, const std::function<void(Transitions&)>& change) {
    INFO(what);
    Transitions u = t;
    change(u);
    aaren::data::write_d4rl(c, u);
    CHECK(aaren::data::d4rl_arrays_sha256(c) != sum);
  };
  const auto next_up = [](float& x) { x = std::nextafter(x, 1e30f); };
  changed("observations", [&](Transitions& u) { next_up(u.observations[7]); });
  changed("actions", [&](Transitions& u) { next_up(u.actions[599]); });
  changed("rewards", [&](Transitions& u) { next_up(u.rewards[0]); });
  changed("terminals", [](Transitions& u) { u.terminals[120] = 0, u.terminals[121] = 1; });
  changed("timeouts", [](Transitions& u) { u.timeouts[299] = 0, u.timeouts[298] = 1; });
  CHECK_THROWS_AS(aaren::data::d4rl_arrays_sha256(dir + "/missing.hdf5"), DataError);
  // The definition the committed table was made with (scripts/dataset-checksums.py, h5py).
  REQUIRE_H5PY();
  const std::string script = "/usr/bin/python3 " AAREN_SOURCE_DIR "/scripts/dataset-checksums.py " + a;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(script.c_str(), "r"), pclose);
  char line[256] = {0};
  REQUIRE(fgets(line, sizeof line, pipe.get()));
  CHECK(std::string(line).substr(0, 64) == sum);
}
