// What every benchmark reports with: the shared table, clock and atomic
// writes (base/), and a description of the machine it ran on.
#pragma once

#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "base/clock.h"
#include "base/table.h"

namespace aaren::bench {

// The benchmarks' vocabulary, from the base layer.
using base::as_number;
using base::Cell;
using base::median;
using base::now_seconds;
using base::Table;
using base::write_file_atomically;

// Machine description for reports: CPU model, cores, LibTorch threads.
nlohmann::json machine_info();

}  // namespace aaren::bench
