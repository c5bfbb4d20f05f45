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
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string fmt(double v) {
  std::ostringstream os;
  const double a = std::abs(v);
  if (a != 0 && (a >= 1e5 || a < 1e-2))
    os << std::setprecision(2) << std::scientific << v;
  else
    os << std::setprecision(a >= 100 ? 0 : a >= 10 ? 1 : 2) << std::fixed << v;
  return os.str();
}

// "Nice" tick values covering [lo, hi].
std::vector<double> ticks(double lo, double hi, bool log_scale) {
  std::vector<double> t;
  if (log_scale) {
    for (double p = std::floor(lo); p <= std::ceil(hi) + 1e-9; p += 1) t.push_back(p);
    return t;
  }
  const double span = hi - lo;
  const double raw = span / 5;
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  for (double v = std::ceil(lo / step) * step; v <= hi + 1e-9 * span; v += step) t.push_back(v);
  return t;
}

const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};

}  // namespace

std::string svg_line_chart(const std::vector<Series>& series, const PlotOptions& o) {
  auto tx = [&](double v) { return o.log_x ? std::log10(std::max(v, 1e-300)) : v; };
  auto ty = [&](double v) { return o.log_y ? std::log10(std::max(v, 1e-300)) : v; };
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  for (const auto& s : series)
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      x0 = std::min(x0, tx(s.x[i])), x1 = std::max(x1, tx(s.x[i]));
      y0 = std::min(y0, ty(s.y[i])), y1 = std::max(y1, ty(s.y[i]));
    }
  if (!std::isfinite(x0)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (x1 == x0) x1 = x0 + 1;
  if (y1 == y0) y1 = y0 + 1;
  if (!o.log_y) {  // a little headroom, and include 0 when close
    const double pad = 0.05 * (y1 - y0);
    y0 -= pad, y1 += pad;
  }
  const double L = 80, R = 170, T = 40, B = 55;
  const double W = o.width - L - R, H = o.height - T - B;
  auto px = [&](double v) { return L + (tx(v) - x0) / (x1 - x0) * W; };
  auto py = [&](double v) { return T + H - (ty(v) - y0) / (y1 - y0) * H; };

  std::ostringstream s;
  s << std::fixed << std::setprecision(1);
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << o.width << "\" height=\"" << o.height
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s << "<text x=\"" << L + W / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">" << escape(o.title)
    << "</text>\n";
  for (double t : ticks(x0, x1, o.log_x)) {
    const double x = L + (t - x0) / (x1 - x0) * W;
    if (x < L - 0.5 || x > L + W + 0.5) continue;
    s << "<line x1=\"" << x << "\" y1=\"" << T << "\" x2=\"" << x << "\" y2=\"" << T + H
      << "\" stroke=\"#e5e5e5\"/>\n<text x=\"" << x << "\" y=\"" << T + H + 16 << "\" text-anchor=\"middle\">"
      << fmt(o.log_x ? std::pow(10, t) : t) << "</text>\n";
  }
  for (double t : ticks(y0, y1, o.log_y)) {
    const double y = T + H - (t - y0) / (y1 - y0) * H;
    if (y < T - 0.5 || y > T + H + 0.5) continue;
    s << "<line x1=\"" << L << "\" y1=\"" << y << "\" x2=\"" << L + W << "\" y2=\"" << y
      << "\" stroke=\"#e5e5e5\"/>\n<text x=\"" << L - 6 << "\" y=\"" << y + 4 << "\" text-anchor=\"end\">"
      << fmt(o.log_y ? std::pow(10, t) : t) << "</text>\n";
  }
  s << "<rect x=\"" << L << "\" y=\"" << T << "\" width=\"" << W << "\" height=\"" << H
    << "\" fill=\"none\" stroke=\"#333\"/>\n";
  s << "<text x=\"" << L + W / 2 << "\" y=\"" << o.height - 12 << "\" text-anchor=\"middle\">" << escape(o.x_label)
    << (o.log_x ? " (log)" : "") << "</text>\n";
  s << "<text transform=\"translate(18," << T + H / 2 << ") rotate(-90)\" text-anchor=\"middle\">"
    << escape(o.y_label) << (o.log_y ? " (log)" : "") << "</text>\n";
  int k = 0;
  for (const auto& ser : series) {
    if (ser.x.empty()) continue;
    const char* color = kColors[k % 8];
    s << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"1.8\" points=\"";
    for (size_t i = 0; i < ser.x.size() && i < ser.y.size(); ++i)
      if (std::isfinite(ser.x[i]) && std::isfinite(ser.y[i])) s << px(ser.x[i]) << "," << py(ser.y[i]) << " ";
    s << "\"/>\n";
    const double ly = T + 14 + 18 * k;
    s << "<line x1=\"" << L + W + 12 << "\" y1=\"" << ly << "\" x2=\"" << L + W + 32 << "\" y2=\"" << ly
      << "\" stroke=\"" << color << "\" stroke-width=\"2.5\"/>\n<text x=\"" << L + W + 38 << "\" y=\"" << ly + 4
      << "\">" << escape(ser.name) << "</text>\n";
    ++k;
  }
  s << "</svg>\n";
  return s.str();
}

void write_svg(const std::string& path, const std::vector<Series>& series, const PlotOptions& options) {
  write_file_atomically(path, svg_line_chart(series, options));
}

}  // namespace aaren::base
