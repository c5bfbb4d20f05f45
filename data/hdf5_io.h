// D4RL and Minari files on the HDF5 C API: readers that turn every problem
// into a one-line DataError (never an HDF5 error-stack dump), and a D4RL-layout
// writer (gzip, chunked) whose files h5py reads.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "data/transitions.h"

namespace aaren::data {

// Reads a D4RL file: observations, actions, rewards ((N,) or (N,1)), terminals
// and timeouts (HDF5 bool enum, integer or float), optional next_observations,
// infos/qpos, infos/qvel, metadata/... Any numeric dtype is converted.
// Rejects missing keys, length mismatches, wrong ranks, non-numeric data, NaN
// or inf, empty datasets, and corrupt, truncated or non-HDF5 files.
Transitions read_d4rl(const std::string& path);

// Reads a Minari dataset: `path` is data/main_data.hdf5 (or the dataset
// folder holding it) with groups episode_<id>, each with observations (T+1
// rows), actions, rewards, terminations, truncations (T rows). The result
// holds T transitions per episode, next_observations filled, and
// episode_starts set.
Transitions read_minari(const std::string& path);

// A Minari dataset's data/metadata.json: its top-level values as text (strings
// as they are, others as JSON), with env_id taken from env_spec's id (e.g.
// "Hopper-v5"). Empty when the file is missing or not a JSON object.
std::map<std::string, std::string> read_minari_metadata_json(const std::filesystem::path& json_path);

// Reads either layout: Minari when the file has episode_* groups.
Transitions read_dataset(const std::string& path);

// read_dataset in a child process, for files that may be damaged: libhdf5
// can crash (SIGSEGV) or loop forever on corrupted metadata, which no check
// in this process could catch. The child reads the file and sends the result
// back through a pipe; a crash, a stall past `timeout_seconds` (0: 120 s plus
// 1 s per 20 MB of file) or a DataError becomes one DataError line naming the
// file. The result is the same as read_dataset's.
Transitions read_dataset_isolated(const std::string& path, double timeout_seconds = 0);

// A dataset to learn from or measure on: the file read in isolation
// (read_dataset_isolated) and cut into its complete episodes (split_episodes,
// D4RL's rule). Its warnings stay in `transitions.warnings` for the caller to
// show. Throws DataError naming the file when no episode is complete.
struct EpisodeData {
  Transitions transitions;
  EpisodeSplit split;
};
EpisodeData read_episode_data(const std::string& path);

struct WriteOptions {
  int gzip_level = 4;          // h5py's default
  int64_t chunk_rows = 16384;  // rows per chunk (capped at N)
};

// Writes the D4RL layout (float32 observations/actions/rewards, bool-enum
// terminals/timeouts, float64 infos/qpos, infos/qvel, next_observations when
// present, metadata/<key> string datasets) through a temporary file renamed
// into place. Throws DataError on failure, leaving nothing behind.
void write_d4rl(const std::string& path, const Transitions& t, const WriteOptions& options = {});

// SHA-256 of a D4RL-layout file's arrays, not of the file: each of observations,
// actions, rewards, terminals, timeouts and next_observations that is present, in
// that order, its name then its raw bytes as stored (the definition of
// scripts/dataset-checksums.py and docs/datasets/matched/checksums.txt). The same
// data written again (other metadata, compression or creation time) has the same
// checksum. Each array is read `block_bytes` of rows at a time (at least a row),
// so the checksum of a file larger than memory needs no more than a block of it
// (a file whose shapes no read has checked first may declare terabytes of unwritten
// rows: read it first, as train does). Throws DataError naming the file and the key.
std::string d4rl_arrays_sha256(const std::string& path, int64_t block_bytes = int64_t{64} << 20);

// The HDF5 library this build runs on, e.g. "1.10.8".
std::string hdf5_library_version();

// The `actions` array [rows, act_dim] of an HDF5 file alone (a D4RL file, or a
// record of one that keeps only its actions), as float32. Throws DataError
// naming the file and the key.
std::vector<float> read_actions(const std::string& path, int64_t& act_dim);

}  // namespace aaren::data
