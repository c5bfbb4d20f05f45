// Line charts as standalone SVG files, written by the toolkit itself (no
// Python): one or more named series over a shared x axis.
#pragma once

#include <string>
#include <vector>

namespace aaren::base {

struct Series {
  std::string name;
  std::vector<double> x, y;
};

struct PlotOptions {
  std::string title, x_label, y_label;
  bool log_x = false, log_y = false;
  int width = 720, height = 440;
};

// Renders the chart; series with no points are skipped.
std::string svg_line_chart(const std::vector<Series>& series, const PlotOptions& options);

// Writes it atomically (temporary file + rename).
void write_svg(const std::string& path, const std::vector<Series>& series, const PlotOptions& options);

}  // namespace aaren::base
