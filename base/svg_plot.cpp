#include "base/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <sstream>

#include "base/atomic_file.h"

namespace aaren::base {

namespace {

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Tick labels of one axis share one format, chosen from the tick step: as
// many decimals as the step needs (30, not 30.0; 0.25 and 0.50 alike),
// scientific only for very large or small values; never "-0".
std::string fmt_tick(double v, double step) {
  if (std::abs(v) < 1e-9 * std::abs(step)) v = 0;
  std::ostringstream os;
  const double a = std::abs(v);
  if (a != 0 && (a >= 1e6 || a < 1e-3)) {
    os << std::setprecision(1) << std::scientific << v;
    return os.str();
  }
  const int decimals = std::max(0, static_cast<int>(std::ceil(-std::log10(step) - 1e-9)));
  os << std::setprecision(std::min(decimals, 6)) << std::fixed << v;
  return os.str();
}

// "Nice" tick values covering [lo, hi], and their step. Log axes: every
// decade, and 2x and 5x between them when the axis spans few decades.
std::vector<double> ticks(double lo, double hi, bool log_scale, double& step) {
  std::vector<double> t;
  if (log_scale) {
    const bool fine = hi - lo <= 2.5;
    for (double p = std::floor(lo); p <= std::ceil(hi) + 1e-9; p += 1)
      for (double m : fine ? std::vector<double>{1, 2, 5} : std::vector<double>{1}) {
        const double v = p + std::log10(m);
        if (v >= lo - 1e-9 && v <= hi + 1e-9) t.push_back(v);
      }
    step = 1;
    return t;
  }
  const double span = hi - lo;
  const double raw = span / 5;
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  for (double v = std::ceil(lo / step) * step; v <= hi + 1e-9 * span; v += step) t.push_back(v);
  return t;
}

// A value on a log axis: 0.01, 0.5, 20, 500, then SI suffixes (2k, 10k, 1M),
// or bytes (500 B, 2 kB, 10 MB): one format along the axis.
std::string log_tick(double v, AxisUnit unit) {
  static const char* kNumberSuffix[] = {"", "k", "M", "G", "T"};
  static const char* kByteSuffix[] = {" B", " kB", " MB", " GB", " TB"};
  int power = 0;
  double mantissa = v;
  while (std::abs(mantissa) >= 1000 - 1e-6 && power < 4) mantissa /= 1000, ++power;
  std::ostringstream os;
  if (power == 0 && unit == AxisUnit::kNumber) return fmt_tick(v, v);
  os << std::setprecision(3) << std::round(mantissa * 1000) / 1000
     << (unit == AxisUnit::kBytes ? kByteSuffix[power] : kNumberSuffix[power]);
  return os.str();
}

// Bytes on a linear axis: every tick in the unit of the largest (0, 0.5, 1.0 MB).
std::string linear_bytes_tick(double v, double step, double largest) {
  static const char* kSuffix[] = {" B", " kB", " MB", " GB", " TB"};
  int power = 0;
  double scale = 1;
  while (largest / scale >= 1000 && power < 4) scale *= 1000, ++power;
  return fmt_tick(v / scale, step / scale) + kSuffix[power];
}

// One axis's ticks (in axis units: log10 on a log axis) and their labels.
struct AxisTicks {
  std::vector<double> at;
  std::vector<std::string> labels;
};

AxisTicks axis_ticks(double lo, double hi, bool log_scale, AxisUnit unit) {
  AxisTicks a;
  double step = 1;
  a.at = ticks(lo, hi, log_scale, step);
  double largest = 0;
  for (double t : a.at) largest = std::max(largest, std::abs(t));
  for (double t : a.at)
    a.labels.push_back(log_scale                  ? log_tick(std::pow(10, t), unit)
                       : unit == AxisUnit::kBytes ? linear_bytes_tick(t, step, largest)
                                                  : fmt_tick(t, step));
  return a;
}

// Width of a text in the 12 px sans-serif font, roughly (for layout only).
double text_width(const std::string& text, double font_px = 12) { return 0.6 * font_px * text.size(); }

const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};
// Dash patterns, cycled apart from the colours, so that lines lying on top of
// each other stay visible as two.
const char* kDashes[] = {"", "7,3", "2,2", "9,3,2,3"};

}  // namespace

namespace {
// Where the data go: the plot area (left, top, width, height in px) and the
// axes' ranges, in log10 units on a log axis.
struct Frame {
  double L = 0, T = 0, W = 0, H = 0, x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  bool log_x = false, log_y = false;
  static double axis(double v, bool log) { return log ? std::log10(std::max(v, 1e-300)) : v; }
  double px(double v) const { return L + (axis(v, log_x) - x0) / (x1 - x0) * W; }
  double py(double v) const { return T + H - (axis(v, log_y) - y0) / (y1 - y0) * H; }
};

// How far bands may widen the y range beyond the lines and reference levels, as a
// fraction of their span on each side. An interval over 2 seeds is Student's t
// with 1 degree of freedom, 12.7 standard errors wide each way: fitted whole, it
// would squash the lines it surrounds into a flat stripe. Beyond this reach a
// band is clipped at the frame, where it visibly runs into the edge.
constexpr double kBandReach = 0.5;

// The axes' ranges over the finite points of every series (a little headroom on a linear y).
// Lines and reference levels always fit; bands count up to kBandReach.
void fit_ranges(const std::vector<Series>& series, const std::vector<ReferenceLine>& references, Frame& f) {
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0, b0 = x0, b1 = -x0;
  const auto take_y = [&](double y, double& lo, double& hi) {
    if (std::isfinite(y) && (!f.log_y || y > 0))
      lo = std::min(lo, Frame::axis(y, f.log_y)), hi = std::max(hi, Frame::axis(y, f.log_y));
  };
  for (const auto& s : series)
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      x0 = std::min(x0, Frame::axis(s.x[i], f.log_x)), x1 = std::max(x1, Frame::axis(s.x[i], f.log_x));
      take_y(s.y[i], y0, y1);
      if (i < s.low.size() && i < s.high.size()) take_y(s.low[i], b0, b1), take_y(s.high[i], b0, b1);
    }
  if (std::isfinite(x0))
    for (const auto& r : references) take_y(r.y, y0, y1);
  if (!std::isfinite(x0)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (x1 == x0) x1 = x0 + 1;
  if (y1 == y0) y1 = y0 + 1;
  const double reach = kBandReach * (y1 - y0);
  if (std::isfinite(b0)) y0 = std::min(y0, std::max(b0, y0 - reach)), y1 = std::max(y1, std::min(b1, y1 + reach));
  if (!f.log_y) {
    const double pad = 0.05 * (y1 - y0);
    y0 -= pad, y1 += pad;
  } else {  // whole decades, with room at both ends: no line on the frame's edge
    y0 = std::floor(y0 - 0.03), y1 = std::ceil(y1 + 0.03);
  }
  f.x0 = x0, f.x1 = x1, f.y0 = y0, f.y1 = y1;
}

// Series k's band (low to high at each x), shaded in its colour under the lines.
void draw_band(std::ostream& s, const Series& ser, int k, const Frame& f) {
  std::vector<size_t> at;
  for (size_t i = 0; i < ser.x.size() && i < ser.low.size() && i < ser.high.size(); ++i)
    if (std::isfinite(ser.x[i]) && std::isfinite(ser.low[i]) && std::isfinite(ser.high[i])) at.push_back(i);
  if (at.size() < 2) return;
  s << "<polygon clip-path=\"url(#plot-area)\" fill=\"" << kColors[k % 8]
    << "\" fill-opacity=\"0.18\" stroke=\"none\" points=\"";
  for (size_t i : at) s << f.px(ser.x[i]) << "," << f.py(ser.high[i]) << " ";
  for (auto it = at.rbegin(); it != at.rend(); ++it) s << f.px(ser.x[*it]) << "," << f.py(ser.low[*it]) << " ";
  s << "\"/>\n";
}

// Reference level j: a grey dashed line across the plot, and its legend entry under the
// series' (n of them) in the legend (inside the plot its label would lie on the curves).
// Reference lines are told apart by their dash pattern (one per line, cycled).
void draw_reference(std::ostream& s, const ReferenceLine& r, int j, int n, const Frame& f, double legend_font) {
  if (!std::isfinite(r.y) || (f.log_y && r.y <= 0)) return;
  static const char* const kDashes[] = {"4,4", "12,4", "2,3", "12,4,2,4"};
  const char* dash = kDashes[j % 4];
  const double y = f.py(r.y);
  s << "<line x1=\"" << f.L << "\" y1=\"" << y << "\" x2=\"" << f.L + f.W << "\" y2=\"" << y
    << "\" stroke=\"#555\" stroke-width=\"1.2\" stroke-dasharray=\"" << dash << "\"/>\n";
  const double ly = f.T + 14 + 18 * (n + j), lx = f.L + f.W;
  s << "<line x1=\"" << lx + 12 << "\" y1=\"" << ly << "\" x2=\"" << lx + 40 << "\" y2=\"" << ly
    << "\" stroke=\"#555\" stroke-width=\"1.2\" stroke-dasharray=\"" << dash << "\"/>\n<text x=\"" << lx + 46
    << "\" y=\"" << ly + 4 << "\" font-size=\"" << legend_font << "\" fill=\"#333\">" << escape(r.label) << "</text>\n";
}

// Marker `shape` (one per series, cycled) centred at (x, y): circle, square,
// triangle, diamond, inverted triangle.
void draw_marker(std::ostream& s, int shape, double x, double y, const char* color) {
  const double r = 3.5;
  switch (shape % 5) {
    case 0:
      s << "<circle cx=\"" << x << "\" cy=\"" << y << "\" r=\"" << r - 0.5 << "\"";
      break;
    case 1:
      s << "<rect x=\"" << x - r + 0.5 << "\" y=\"" << y - r + 0.5 << "\" width=\"" << 2 * r - 1 << "\" height=\""
        << 2 * r - 1 << "\"";
      break;
    case 2:
      s << "<polygon points=\"" << x << "," << y - r << " " << x + r << "," << y + r << " " << x - r << "," << y + r
        << "\"";
      break;
    case 3:
      s << "<polygon points=\"" << x << "," << y - r << " " << x + r << "," << y << " " << x << "," << y + r << " "
        << x - r << "," << y << "\"";
      break;
    default:
      s << "<polygon points=\"" << x - r << "," << y - r << " " << x + r << "," << y - r << " " << x << "," << y + r
        << "\"";
  }
  s << " fill=\"" << color << "\" stroke=\"white\" stroke-width=\"0.6\"/>\n";
}

// Series k of n: its line (dashed apart from the colour cycle), its marker at
// every point when there are few (evaluations), else at 8 places spread along
// x and shifted by k/n of their spacing, so that lines lying on top of each
// other (equal state sizes) still show one marker each; its legend entry.
void draw_series(std::ostream& s, const Series& ser, int k, int n, const Frame& f, double legend_font) {
  const char* color = kColors[k % 8];
  const char* dash = kDashes[k % 4];
  const std::string dash_attr = *dash ? std::string(" stroke-dasharray=\"") + dash + "\"" : "";
  s << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"1.8\"" << dash_attr << " points=\"";
  std::vector<size_t> shown;
  for (size_t i = 0; i < ser.x.size() && i < ser.y.size(); ++i)
    if (std::isfinite(ser.x[i]) && std::isfinite(ser.y[i]))
      s << f.px(ser.x[i]) << "," << f.py(ser.y[i]) << " ", shown.push_back(i);
  s << "\"/>\n";
  if (shown.size() <= 40) {
    for (size_t i : shown) draw_marker(s, k, f.px(ser.x[i]), f.py(ser.y[i]), color);
  } else {
    const int marks = 8;
    size_t j = 0;
    for (int m = 0; m < marks; ++m) {
      const double target = f.L + f.W * (m + (k + 0.5) / std::max(n, 1)) / marks;
      while (j + 1 < shown.size() && f.px(ser.x[shown[j + 1]]) <= target) ++j;
      draw_marker(s, k, f.px(ser.x[shown[j]]), f.py(ser.y[shown[j]]), color);
    }
  }
  const double ly = f.T + 14 + 18 * k, lx = f.L + f.W;
  s << "<line x1=\"" << lx + 12 << "\" y1=\"" << ly << "\" x2=\"" << lx + 40 << "\" y2=\"" << ly << "\" stroke=\""
    << color << "\" stroke-width=\"2.5\"" << dash_attr << "/>\n<text x=\"" << lx + 46 << "\" y=\"" << ly + 4
    << "\" font-size=\"" << legend_font << "\">" << escape(ser.name) << "</text>\n";
  draw_marker(s, k, lx + 26, ly, color);
}

// An axis title with its scale: "tokens (log)", and "peak RSS (MB, log)" where a unit is already in brackets.
std::string axis_title(const std::string& label, bool log_scale) {
  if (!log_scale) return label;
  if (!label.empty() && label.back() == ')') return label.substr(0, label.size() - 1) + ", log)";
  return label + " (log)";
}

// Grid lines and tick labels of both axes, the frame, and the axis titles.
void draw_axes(std::ostream& s, const Frame& f, const PlotOptions& o, const AxisTicks& xt, const AxisTicks& yt,
               double y_label_width) {
  const double L = f.L, T = f.T, W = f.W, H = f.H;
  for (size_t i = 0; i < xt.at.size(); ++i) {
    const double x = L + (xt.at[i] - f.x0) / (f.x1 - f.x0) * W;
    if (x < L - 0.5 || x > L + W + 0.5) continue;
    s << "<line x1=\"" << x << "\" y1=\"" << T << "\" x2=\"" << x << "\" y2=\"" << T + H
      << "\" stroke=\"#e5e5e5\"/>\n<text x=\"" << x << "\" y=\"" << T + H + 16 << "\" text-anchor=\"middle\">"
      << xt.labels[i] << "</text>\n";
  }
  for (size_t i = 0; i < yt.at.size(); ++i) {
    const double y = T + H - (yt.at[i] - f.y0) / (f.y1 - f.y0) * H;
    if (y < T - 0.5 || y > T + H + 0.5) continue;
    s << "<line x1=\"" << L << "\" y1=\"" << y << "\" x2=\"" << L + W << "\" y2=\"" << y
      << "\" stroke=\"#e5e5e5\"/>\n<text x=\"" << L - 6 << "\" y=\"" << y + 4 << "\" text-anchor=\"end\">"
      << yt.labels[i] << "</text>\n";
  }
  s << "<rect x=\"" << L << "\" y=\"" << T << "\" width=\"" << W << "\" height=\"" << H
    << "\" fill=\"none\" stroke=\"#333\"/>\n";
  const double x_title_y = o.height - (o.caption.empty() ? 12 : 26);
  s << "<text x=\"" << L + W / 2 << "\" y=\"" << x_title_y << "\" text-anchor=\"middle\">"
    << escape(axis_title(o.x_label, o.log_x)) << "</text>\n";
  if (!o.caption.empty())
    s << "<text x=\"" << o.width / 2.0 << "\" y=\"" << o.height - 8 << "\" text-anchor=\"middle\" font-size=\"10\" "
      << "fill=\"#555\">" << escape(o.caption) << "</text>\n";
  s << "<text transform=\"translate(" << L - y_label_width - 16 << "," << T + H / 2
    << ") rotate(-90)\" text-anchor=\"middle\">" << escape(axis_title(o.y_label, o.log_y)) << "</text>\n";
}
}  // namespace

std::string svg_line_chart(const std::vector<Series>& series, const PlotOptions& o) {
  Frame f;
  f.log_x = o.log_x, f.log_y = o.log_y;
  fit_ranges(series, o.references, f);
  const auto x_ticks = axis_ticks(f.x0, f.x1, o.log_x, o.x_unit), y_ticks = axis_ticks(f.y0, f.y1, o.log_y, o.y_unit);
  // Margins from what they hold: the widest y tick label, then the y axis
  // title beside it; the legend's longest name on the right.
  double y_label_width = 0, legend_width = 0;
  for (const auto& label : y_ticks.labels) y_label_width = std::max(y_label_width, text_width(label));
  int named = 0;
  for (const auto& ser : series)
    if (!ser.x.empty()) legend_width = std::max(legend_width, text_width(ser.name)), ++named;
  for (const auto& r : o.references) legend_width = std::max(legend_width, text_width(r.label));
  f.L = 36 + y_label_width + 10, f.T = 40;
  // A legend too wide for 45% of the picture gets a smaller font instead of being cut at the edge.
  const double R = legend_width > 0 ? std::min(48 + legend_width + 12, 0.45 * o.width) : 20;
  const double legend_font = legend_width > 0 ? std::max(6.0, std::min(12.0, 12.0 * (R - 60) / legend_width)) : 12;
  f.W = o.width - f.L - R, f.H = o.height - f.T - 55 - (o.caption.empty() ? 0 : 14);

  std::ostringstream s;
  s << std::fixed << std::setprecision(1);
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << o.width << "\" height=\"" << o.height
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  // The title over the plot area, or over the whole picture and smaller when it is wider than that.
  const double title_width = text_width(o.title, 15);
  const bool wide_title = title_width > f.W;
  const double title_font = std::max(8.0, std::min(15.0, 15.0 * (o.width - 20) / std::max(title_width, 1.0)));
  s << "<text x=\"" << (wide_title ? o.width / 2.0 : f.L + f.W / 2) << "\" y=\"22\" text-anchor=\"middle\" font-size=\""
    << title_font << "\">" << escape(o.title) << "</text>\n";
  draw_axes(s, f, o, x_ticks, y_ticks, y_label_width);
  const bool any_band = std::any_of(series.begin(), series.end(), [](const Series& x) { return !x.low.empty(); });
  if (any_band)  // bands wider than the y range reaches (kBandReach) end at the frame
    s << "<defs><clipPath id=\"plot-area\"><rect x=\"" << f.L << "\" y=\"" << f.T << "\" width=\"" << f.W
      << "\" height=\"" << f.H << "\"/></clipPath></defs>\n";
  int k = 0;
  for (const auto& ser : series)
    if (!ser.x.empty()) draw_band(s, ser, k++, f);
  for (size_t j = 0; j < o.references.size(); ++j)
    draw_reference(s, o.references[j], static_cast<int>(j), named, f, legend_font);
  k = 0;
  for (const auto& ser : series)
    if (!ser.x.empty()) draw_series(s, ser, k++, named, f, legend_font);
  s << "</svg>\n";
  return s.str();
}

void write_svg(const std::string& path, const std::vector<Series>& series, const PlotOptions& options) {
  write_file_atomically(path, svg_line_chart(series, options));
}

}  // namespace aaren::base
