// read_dataset_isolated: the HDF5 read in a forked child, its result streamed
// back over a pipe, array by array, into the parent's vectors
// (data/transitions_stream.h).
#include <csignal>
#include <filesystem>
#include <new>
#include <string>

#include "base/isolated_call.h"
#include "data/hdf5_io.h"
#include "data/transitions_stream.h"

namespace aaren::data {

namespace {

// The child's answer: write_transitions' stream, or 'E' + a DataError's message, 'X' + another
// exception's. Only the read is tried: once the stream has begun, no error is appended to it.
void answer_in_child(const std::string& path, base::ChildPipe& pipe) {
  std::string failure;
  Transitions t;
  try {
    t = read_dataset(path);
  } catch (const DataError& e) {
    failure = std::string("E") + e.what();
  } catch (const std::exception& e) {
    failure = std::string("X") + e.what();
  } catch (...) {
    failure = "Xunknown failure";
  }
  if (!failure.empty()) {
    pipe.write(failure.data(), failure.size());
    return;
  }
  write_transitions(std::move(t), [&](const void* data, size_t size) { pipe.write(data, size); });
}

}  // namespace

Transitions read_dataset_isolated(const std::string& path, double timeout_seconds) {
  // Cheap checks (missing file, FIFO, directory without Minari data) are
  // answered here, so a forked child is only ever given a real file.
  std::error_code ec;
  const bool directory = std::filesystem::is_directory(path, ec);
  if (!directory) {
    const auto status = std::filesystem::status(path, ec);
    if (!std::filesystem::exists(status)) throw DataError(path + ": no such file");
    if (!std::filesystem::is_regular_file(status))
      throw DataError(path + ": not a regular file (a FIFO, socket or device?), expected an HDF5 file");
  }
  if (timeout_seconds <= 0) {
    const auto bytes = directory ? 0 : std::filesystem::file_size(path, ec);
    timeout_seconds = 120.0 + static_cast<double>(ec ? 0 : bytes) / 20e6;
  }
  TransitionsFeed feed;
  base::IsolatedAnswer answer;
  const auto damaged = [&] { return DataError(path + ": the child process reading the file sent a damaged answer"); };
  try {
    answer =
        base::call_in_child_streamed([&](base::ChildPipe& pipe) { answer_in_child(path, pipe); },
                                     [&](const char* data, size_t size) { feed.take(data, size); }, timeout_seconds);
  } catch (const std::bad_alloc&) {
    throw DataError(path + ": not enough memory free for the file's arrays (the child reading it was stopped)");
  } catch (const std::exception&) {
    throw damaged();
  }
  using End = base::IsolatedAnswer::End;
  if (answer.end == End::kNoChild) throw DataError(path + ": " + answer.text + " to read the file");
  if (answer.end == End::kTimedOut)
    throw DataError(path + ": the HDF5 library did not finish reading the file in " +
                    std::to_string(static_cast<int>(timeout_seconds)) + " s (stuck on damaged metadata?)");
  // SIGKILL is the kernel's OOM killer (or a user), not libhdf5: the file is not blamed.
  if (answer.end == End::kCrashed && answer.signal == SIGKILL)
    throw DataError(path + ": the child process reading the file was killed (" + base::describe_signal(SIGKILL) +
                    "): out of memory? (reading holds the file's arrays about twice over at its peak)");
  if (answer.end == End::kCrashed)
    throw DataError(path + ": the HDF5 library crashed reading the file (" + base::describe_signal(answer.signal) +
                    "): the file is damaged");
  switch (feed.status()) {
    case 0:
      throw DataError(path + ": the child process reading the file ended without an answer");
    case 'T':
      try {
        return feed.finish();
      } catch (const std::exception&) {
        throw damaged();
      }
    case 'E':
      throw DataError(feed.message());
    default:
      throw DataError(path + ": reading failed: " + feed.message());
  }
}

EpisodeData read_episode_data(const std::string& path) {
  EpisodeData d;
  d.transitions = read_dataset_isolated(path);  // a file that crashes libhdf5 cannot take the caller down
  d.split = split_episodes(d.transitions);
  if (d.split.episodes.empty())
    throw DataError(path + ": no complete episode (" + std::to_string(d.transitions.size) +
                    " transitions, none ends with a terminal, a timeout or the step limit)");
  return d;
}

}  // namespace aaren::data
