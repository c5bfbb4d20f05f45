// The isolated read's stream (data/transitions_stream.h): the fields come back whole however the
// bytes are split, and a stream that is not one is refused, never allocated for.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/hdf5_io.h"
#include "data/transitions_stream.h"

namespace {
using aaren::data::Transitions;
using aaren::data::TransitionsFeed;

std::string stream_of(Transitions t) {
  std::string bytes;
  aaren::data::write_transitions(
      std::move(t), [&](const void* data, size_t size) { bytes.append(static_cast<const char*>(data), size); });
  return bytes;
}

// Fed in pieces of the sizes `piece` gives, then finished.
Transitions fed(const std::string& bytes, const std::function<size_t()>& piece) {
  TransitionsFeed feed;
  for (size_t at = 0; at < bytes.size();) {
    const size_t n = std::min(piece(), bytes.size() - at);
    feed.take(bytes.data() + at, n);
    at += n;
  }
  return feed.finish();
}

void check_same(const Transitions& a, const Transitions& b) {
  CHECK(a.size == b.size);
  CHECK(a.obs_dim == b.obs_dim);
  CHECK(a.act_dim == b.act_dim);
  CHECK(a.nq == b.nq);
  CHECK(a.nv == b.nv);
  CHECK(a.has_timeouts == b.has_timeouts);
  CHECK(a.observations == b.observations);
  CHECK(a.actions == b.actions);
  CHECK(a.rewards == b.rewards);
  CHECK(a.terminals == b.terminals);
  CHECK(a.timeouts == b.timeouts);
  CHECK(a.next_observations == b.next_observations);
  CHECK(a.qpos == b.qpos);
  CHECK(a.qvel == b.qvel);
  CHECK(a.qacc_warmstart == b.qacc_warmstart);
  CHECK(a.episode_starts == b.episode_starts);
  CHECK(a.metadata == b.metadata);
  CHECK(a.dtypes == b.dtypes);
  CHECK(a.warnings == b.warnings);
}
}  // namespace

TEST_CASE("data: the transitions stream arrives whole however it is split", "[data]") {
  const auto file = aaren::data::read_dataset(AAREN_SOURCE_DIR "/data/bundled/hopper-mixed-v0.hdf5");
  REQUIRE(!file.qacc_warmstart.empty());
  Transitions small;  // empty arrays among full ones, and a warning: every kind of field
  small.size = 2, small.obs_dim = 1, small.act_dim = 1, small.has_timeouts = true;
  small.observations = {1.5f, -2.0f}, small.actions = {0.25f, 0.5f}, small.rewards = {1, 2};
  small.terminals = {0, 1}, small.timeouts = {0, 0}, small.episode_starts = {0};
  small.metadata = {{"env_name", "hopper"}}, small.warnings = {"a warning"};
  std::mt19937_64 rng(7);
  for (const Transitions* t : std::vector<const Transitions*>{&file, &small}) {
    const auto bytes = stream_of(*t);
    check_same(fed(bytes, [] { return size_t{1}; }), *t);  // byte by byte: every field split
    std::uniform_int_distribution<size_t> size(1, 70000);
    check_same(fed(bytes, [&] { return size(rng); }), *t);
    check_same(fed(bytes, [&] { return bytes.size(); }), *t);  // at once
  }
}

TEST_CASE("data: a transitions stream that is not one is refused before anything is allocated for it", "[data]") {
  Transitions t;
  t.size = 3, t.obs_dim = 2, t.act_dim = 1;
  t.observations.assign(6, 1.0f), t.actions.assign(3, 0.5f), t.rewards.assign(3, 1.0f);
  t.terminals.assign(3, 0), t.timeouts.assign(3, 0), t.episode_starts = {0};
  const auto bytes = stream_of(t);
  const auto whole = [](const std::string& b) { return b.size(); };
  for (size_t cut : {size_t{0}, size_t{1}, size_t{9}, size_t{50}, size_t{60}, bytes.size() - 1}) {
    INFO("cut at " << cut);
    CHECK_THROWS_WITH(fed(bytes.substr(0, cut), [&] { return whole(bytes); }), "a short answer");
  }
  CHECK_THROWS_WITH(fed(bytes + "x", [&] { return whole(bytes); }), "bytes past the answer's end");
  // The observations' length (after 'T', the count and the six scalars: 1 + 8 + 5 * 8 + 1 bytes)
  // made 2^62: refused before a vector of that size is asked for.
  auto huge = bytes;
  const uint64_t length = uint64_t{1} << 62;
  std::memcpy(&huge[50], &length, sizeof length);
  CHECK_THROWS_WITH(fed(huge, [&] { return whole(huge); }), "a length past the bytes announced");
  // A count smaller than the bytes that follow.
  auto short_count = bytes;
  const uint64_t count = 20;
  std::memcpy(&short_count[1], &count, sizeof count);
  CHECK_THROWS(fed(short_count, [&] { return whole(short_count); }));
  // An error's status: its message kept, no transitions.
  TransitionsFeed failed;
  const std::string error = "Ebad file: key 'rewards' missing";
  failed.take(error.data(), error.size());
  CHECK(failed.status() == 'E');
  CHECK(failed.message() == "bad file: key 'rewards' missing");
  CHECK_THROWS_WITH(failed.finish(), "a short answer");
}
