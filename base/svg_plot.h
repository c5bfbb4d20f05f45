// Line charts as standalone SVG files, written by the toolkit itself (no
// Python): one or more named series over a shared x axis.
#pragma once

#include <string>
#include <vector>

namespace aaren::base {

struct Series {
  std::string name;
  std::vector<double> x, y;
  // Optional: a band drawn under the line from low[i] to high[i] (an interval
  // over seeds), shaded in the line's colour; empty for none.
  std::vector<double> low = {}, high = {};  // (initialisers: aggregates may leave them out)
};

// A horizontal line across the plot at y (a reference level), labelled inside the plot.
struct ReferenceLine {
  double y = 0;
  std::string label;
};

// What an axis's numbers are: plain numbers (ticks 100, 1k, 10k on a log
// axis) or bytes (100 B, 1 kB, 10 MB: decimal units, one format per axis).
enum class AxisUnit { kNumber, kBytes };

struct PlotOptions {
  std::string title, x_label, y_label;
  bool log_x = false, log_y = false;
  AxisUnit x_unit = AxisUnit::kNumber, y_unit = AxisUnit::kNumber;
  int width = 720, height = 440;
  std::vector<ReferenceLine> references = {};  // kept inside the y range
  std::string caption = {};                    // one small line under the x axis title (what ran)
};

// Renders the chart; series with no points are skipped.
std::string svg_line_chart(const std::vector<Series>& series, const PlotOptions& options);

// Writes it atomically (temporary file + rename).
void write_svg(const std::string& path, const std::vector<Series>& series, const PlotOptions& options);

}  // namespace aaren::base
