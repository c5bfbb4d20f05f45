#include "agents/training/eval_log.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "base/numbers.h"

namespace aaren {

const std::string& eval_csv_header() {
  static const std::string header = "update,target,return_mean,return_std,score_mean,score_std,seed,episodes";
  return header;
}

std::string eval_csv_row(const EvalResult& e) {
  std::ostringstream row;  // the stream's default format: 6 significant digits, as the logs always had
  row << e.update << "," << e.target << "," << e.return_mean << "," << e.return_std << "," << e.score_mean << ","
      << e.score_std << "," << e.seed << "," << e.episodes;
  return row.str();
}

std::vector<EvalResult> read_eval_csv(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": no such file");
  std::string line;
  if (!std::getline(in, line) || line != eval_csv_header())
    throw std::runtime_error(path + ": not an eval.csv (the header must be " + eval_csv_header() + ")");
  std::vector<EvalResult> rows;
  for (int64_t number = 2; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    std::istringstream cells(line);
    std::vector<double> v;
    for (std::string cell; std::getline(cells, cell, ',');) {
      double x = 0;
      if (!base::parse_real(cell, x))
        throw std::runtime_error(path + ": line " + std::to_string(number) + ": '" + cell + "' is not a number");
      v.push_back(x);
    }
    if (v.size() != 8)
      throw std::runtime_error(path + ": line " + std::to_string(number) + ": 8 columns expected, got " +
                               std::to_string(v.size()));
    rows.push_back({static_cast<int64_t>(v[0]), v[1], v[2], v[3], v[4], v[5], static_cast<uint64_t>(v[6]),
                    static_cast<int64_t>(v[7])});
  }
  return rows;
}

}  // namespace aaren
