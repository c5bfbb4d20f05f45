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

// "Nice" tick values covering [lo, hi], and their step (log axes: decades).
std::vector<double> ticks(double lo, double hi, bool log_scale, double& step) {
  std::vector<double> t;
  if (log_scale) {
    for (double p = std::floor(lo); p <= std::ceil(hi) + 1e-9; p += 1) t.push_back(p);
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

std::string tick_label(double t, bool log_scale, double step) {
  if (!log_scale) return fmt_tick(t, step);
  const double v = std::pow(10, t);
  return fmt_tick(v, v);  // a decade: 0.01, 0.1, 1, 10, 1000, 1.0e+06
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

// The axes' ranges over the finite points of every series (a little headroom on a linear y).
// Bands and reference lines count too, so that nothing is clipped.
void fit_ranges(const std::vector<Series>& series, const std::vector<ReferenceLine>& references, Frame& f) {
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  const auto take_y = [&](double y) {
    if (std::isfinite(y) && (!f.log_y || y > 0))
      y0 = std::min(y0, Frame::axis(y, f.log_y)), y1 = std::max(y1, Frame::axis(y, f.log_y));
  };
  for (const auto& s : series)
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      x0 = std::min(x0, Frame::axis(s.x[i], f.log_x)), x1 = std::max(x1, Frame::axis(s.x[i], f.log_x));
      take_y(s.y[i]);
      if (i < s.low.size() && i < s.high.size()) take_y(s.low[i]), take_y(s.high[i]);
    }
  if (std::isfinite(x0))
    for (const auto& r : references) take_y(r.y);
  if (!std::isfinite(x0)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (x1 == x0) x1 = x0 + 1;
  if (y1 == y0) y1 = y0 + 1;
  if (!f.log_y) {
    const double pad = 0.05 * (y1 - y0);
    y0 -= pad, y1 += pad;
  }
  f.x0 = x0, f.x1 = x1, f.y0 = y0, f.y1 = y1;
}

// Series k's band (low to high at each x), shaded in its colour under the lines.
void draw_band(std::ostream& s, const Series& ser, int k, const Frame& f) {
  std::vector<size_t> at;
  for (size_t i = 0; i < ser.x.size() && i < ser.low.size() && i < ser.high.size(); ++i)
    if (std::isfinite(ser.x[i]) && std::isfinite(ser.low[i]) && std::isfinite(ser.high[i])) at.push_back(i);
  if (at.size() < 2) return;
  s << "<polygon fill=\"" << kColors[k % 8] << "\" fill-opacity=\"0.18\" stroke=\"none\" points=\"";
  for (size_t i : at) s << f.px(ser.x[i]) << "," << f.py(ser.high[i]) << " ";
  for (auto it = at.rbegin(); it != at.rend(); ++it) s << f.px(ser.x[*it]) << "," << f.py(ser.low[*it]) << " ";
  s << "\"/>\n";
}

// A reference level: a grey dashed line across the plot, its label just above it at the left.
void draw_reference(std::ostream& s, const ReferenceLine& r, const Frame& f) {
  if (!std::isfinite(r.y) || (f.log_y && r.y <= 0)) return;
  const double y = f.py(r.y);
  s << "<line x1=\"" << f.L << "\" y1=\"" << y << "\" x2=\"" << f.L + f.W << "\" y2=\"" << y
    << "\" stroke=\"#555\" stroke-width=\"1.2\" stroke-dasharray=\"4,4\"/>\n<text x=\"" << f.L + 6 << "\" y=\"" << y - 4
    << "\" font-size=\"11\" fill=\"#333\">" << escape(r.label) << "</text>\n";
}

// Series k: its line (dashed apart from the colour cycle), a mark per point
// when there are few (evaluations), and its legend entry.
void draw_series(std::ostream& s, const Series& ser, int k, const Frame& f, double legend_font) {
  const char* color = kColors[k % 8];
  const char* dash = kDashes[k % 4];
  const std::string dash_attr = *dash ? std::string(" stroke-dasharray=\"") + dash + "\"" : "";
  s << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"1.8\"" << dash_attr << " points=\"";
  size_t points = 0;
  for (size_t i = 0; i < ser.x.size() && i < ser.y.size(); ++i)
    if (std::isfinite(ser.x[i]) && std::isfinite(ser.y[i]))
      s << f.px(ser.x[i]) << "," << f.py(ser.y[i]) << " ", ++points;
  s << "\"/>\n";
  if (points <= 40)
    for (size_t i = 0; i < ser.x.size() && i < ser.y.size(); ++i)
      if (std::isfinite(ser.x[i]) && std::isfinite(ser.y[i]))
        s << "<circle cx=\"" << f.px(ser.x[i]) << "\" cy=\"" << f.py(ser.y[i]) << "\" r=\"2.5\" fill=\"" << color
          << "\"/>\n";
  const double ly = f.T + 14 + 18 * k, lx = f.L + f.W;
  s << "<line x1=\"" << lx + 12 << "\" y1=\"" << ly << "\" x2=\"" << lx + 40 << "\" y2=\"" << ly << "\" stroke=\""
    << color << "\" stroke-width=\"2.5\"" << dash_attr << "/>\n<text x=\"" << lx + 46 << "\" y=\"" << ly + 4
    << "\" font-size=\"" << legend_font << "\">" << escape(ser.name) << "</text>\n";
}

// Grid lines and tick labels of both axes, the frame, and the axis titles.
void draw_axes(std::ostream& s, const Frame& f, const PlotOptions& o, const std::vector<double>& x_ticks, double x_step,
               const std::vector<double>& y_ticks, double y_step, double y_label_width) {
  const double L = f.L, T = f.T, W = f.W, H = f.H;
  for (double t : x_ticks) {
    const double x = L + (t - f.x0) / (f.x1 - f.x0) * W;
    if (x < L - 0.5 || x > L + W + 0.5) continue;
    s << "<line x1=\"" << x << "\" y1=\"" << T << "\" x2=\"" << x << "\" y2=\"" << T + H
      << "\" stroke=\"#e5e5e5\"/>\n<text x=\"" << x << "\" y=\"" << T + H + 16 << "\" text-anchor=\"middle\">"
      << tick_label(t, o.log_x, x_step) << "</text>\n";
  }
  for (double t : y_ticks) {
    const double y = T + H - (t - f.y0) / (f.y1 - f.y0) * H;
    if (y < T - 0.5 || y > T + H + 0.5) continue;
    s << "<line x1=\"" << L << "\" y1=\"" << y << "\" x2=\"" << L + W << "\" y2=\"" << y
      << "\" stroke=\"#e5e5e5\"/>\n<text x=\"" << L - 6 << "\" y=\"" << y + 4 << "\" text-anchor=\"end\">"
      << tick_label(t, o.log_y, y_step) << "</text>\n";
  }
  s << "<rect x=\"" << L << "\" y=\"" << T << "\" width=\"" << W << "\" height=\"" << H
    << "\" fill=\"none\" stroke=\"#333\"/>\n";
  const double x_title_y = o.height - (o.caption.empty() ? 12 : 26);
  s << "<text x=\"" << L + W / 2 << "\" y=\"" << x_title_y << "\" text-anchor=\"middle\">" << escape(o.x_label)
    << (o.log_x ? " (log)" : "") << "</text>\n";
  if (!o.caption.empty())
    s << "<text x=\"" << o.width / 2.0 << "\" y=\"" << o.height - 8 << "\" text-anchor=\"middle\" font-size=\"10\" "
      << "fill=\"#555\">" << escape(o.caption) << "</text>\n";
  s << "<text transform=\"translate(" << L - y_label_width - 16 << "," << T + H / 2
    << ") rotate(-90)\" text-anchor=\"middle\">" << escape(o.y_label) << (o.log_y ? " (log)" : "") << "</text>\n";
}
}  // namespace

std::string svg_line_chart(const std::vector<Series>& series, const PlotOptions& o) {
  Frame f;
  f.log_x = o.log_x, f.log_y = o.log_y;
  fit_ranges(series, o.references, f);
  double x_step = 1, y_step = 1;
  const auto x_ticks = ticks(f.x0, f.x1, o.log_x, x_step), y_ticks = ticks(f.y0, f.y1, o.log_y, y_step);
  // Margins from what they hold: the widest y tick label, then the y axis
  // title beside it; the legend's longest name on the right.
  double y_label_width = 0, legend_width = 0;
  for (double t : y_ticks) y_label_width = std::max(y_label_width, text_width(tick_label(t, o.log_y, y_step)));
  int named = 0;
  for (const auto& ser : series)
    if (!ser.x.empty()) legend_width = std::max(legend_width, text_width(ser.name)), ++named;
  f.L = 36 + y_label_width + 10, f.T = 40;
  // A legend too wide for 45% of the picture gets a smaller font instead of being cut at the edge.
  const double R = named > 0 ? std::min(48 + legend_width + 12, 0.45 * o.width) : 20;
  const double legend_font = legend_width > 0 ? std::max(6.0, std::min(12.0, 12.0 * (R - 60) / legend_width)) : 12;
  f.W = o.width - f.L - R, f.H = o.height - f.T - 55 - (o.caption.empty() ? 0 : 14);

  std::ostringstream s;
  s << std::fixed << std::setprecision(1);
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << o.width << "\" height=\"" << o.height
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s << "<text x=\"" << f.L + f.W / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">" << escape(o.title)
    << "</text>\n";
  draw_axes(s, f, o, x_ticks, x_step, y_ticks, y_step, y_label_width);
  int k = 0;
  for (const auto& ser : series)
    if (!ser.x.empty()) draw_band(s, ser, k++, f);
  for (const auto& r : o.references) draw_reference(s, r, f);
  k = 0;
  for (const auto& ser : series)
    if (!ser.x.empty()) draw_series(s, ser, k++, f, legend_font);
  s << "</svg>\n";
  return s.str();
}

void write_svg(const std::string& path, const std::vector<Series>& series, const PlotOptions& options) {
  write_file_atomically(path, svg_line_chart(series, options));
}

}  // namespace aaren::base
