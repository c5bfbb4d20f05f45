// SVG line charts (base/svg_plot.h): tick labels of one axis share one
// format, no "-0", the legend fits inside the picture, identical series stay
// distinguishable.
#include <catch2/catch.hpp>

#include <algorithm>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "base/svg_plot.h"

namespace {
// The text of every <text> element whose y is `y` (the x axis) or whose
// anchor is "end" (the y axis).
std::vector<std::string> texts(const std::string& svg, const std::string& attribute_fragment) {
  std::vector<std::string> out;
  const std::regex element("<text ([^>]*)>([^<]*)</text>");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), element); it != std::sregex_iterator(); ++it)
    if ((*it)[1].str().find(attribute_fragment) != std::string::npos) out.push_back((*it)[2].str());
  return out;
}
}  // namespace

TEST_CASE("svg chart: one tick format per axis, no -0, integers without decimals, the legend inside", "[plot]") {
  aaren::base::Series a{
      "target 3600 (a long series name for the legend)", {30, 60, 90, 120, 150}, {-0.3, 0.1, 0.5, 0.9, 1.2}};
  aaren::base::Series b{"same values", a.x, a.y};
  const auto svg = aaren::base::svg_line_chart({a, b}, {"title", "updates", "score"});
  const auto y_labels = texts(svg, "text-anchor=\"end\"");
  REQUIRE(y_labels.size() >= 3);
  std::set<size_t> decimals;
  for (const auto& t : y_labels) {
    INFO(t);
    const bool negative_zero = t.rfind("-", 0) == 0 && t.find_first_not_of("-0.") == std::string::npos;
    CHECK_FALSE(negative_zero);
    decimals.insert(t.find('.') == std::string::npos ? 0 : t.size() - t.find('.') - 1);
  }
  CHECK(decimals.size() == 1);  // one format on the axis
  // The x axis: updates are integers, labelled so ("60", not "60.0").
  for (const auto& t : texts(svg, "text-anchor=\"middle\"")) CHECK(t.find(".0") == std::string::npos);
  // The legend's text ends inside the picture (its width estimated at 0.6 em per character).
  const std::regex legend("<text x=\"([0-9.]+)\" y=\"[0-9.]+\" font-size=\"([0-9.]+)\">target 3600");
  std::smatch m;
  REQUIRE(std::regex_search(svg, m, legend));
  CHECK(std::stod(m[1].str()) + 0.6 * std::stod(m[2].str()) * a.name.size() <= 720);
  // Two identical series: the second is dashed, so both show.
  CHECK(svg.find("stroke-dasharray") != std::string::npos);
}

TEST_CASE("svg chart: a band and a reference line stay inside the plot, under the lines", "[plot]") {
  aaren::base::Series mean{"mean", {0, 1, 2}, {10, 20, 30}, {5, 12, 18}, {15, 28, 52}};
  aaren::base::PlotOptions o{"title", "updates", "score"};
  o.references = {{-20, "the data's level"}};
  o.caption = "a caption";
  const auto svg = aaren::base::svg_line_chart({mean}, o);
  const auto band = svg.find("<polygon"), line = svg.find("<polyline"), level = svg.find("the data's level");
  REQUIRE(band != std::string::npos);
  REQUIRE(level != std::string::npos);
  CHECK(band < line);  // drawn first: the line stays on top
  CHECK(svg.find("a caption") != std::string::npos);
  // Every y coordinate of the band and the reference line lies within the frame (no clipping at 52 or -20).
  const std::regex frame(
      "<rect x=\"([0-9.]+)\" y=\"([0-9.]+)\" width=\"([0-9.]+)\" height=\"([0-9.]+)\" fill=\"none\"");
  std::smatch m;
  REQUIRE(std::regex_search(svg, m, frame));
  const double top = std::stod(m[2].str()), bottom = top + std::stod(m[4].str());
  const auto polygon = svg.substr(band, svg.find("/>", band) - band);
  const std::regex pair_re("([0-9.]+),([0-9.]+)");
  int points = 0;
  for (auto it = std::sregex_iterator(polygon.begin(), polygon.end(), pair_re); it != std::sregex_iterator(); ++it) {
    const double y = std::stod((*it)[2].str());
    CHECK(y >= top - 0.5);
    CHECK(y <= bottom + 0.5);
    ++points;
  }
  CHECK(points == 6);
  const std::regex ref_line("<line x1=\"[0-9.]+\" y1=\"([0-9.]+)\"[^>]*stroke-dasharray=\"4,4\"");
  REQUIRE(std::regex_search(svg, m, ref_line));
  CHECK(std::stod(m[1].str()) <= bottom + 0.5);
  CHECK(std::stod(m[1].str()) >= top - 0.5);
  // Its label is in the legend, right of the frame, not on the curves.
  REQUIRE(std::regex_search(svg, m, frame));
  const double right = std::stod(m[1].str()) + std::stod(m[3].str());
  const std::regex label("<text x=\"([0-9.]+)\"[^>]*>the data's level</text>");
  REQUIRE(std::regex_search(svg, m, label));
  CHECK(std::stod(m[1].str()) > right);
}

TEST_CASE("svg chart: a band far wider than the lines is clipped at the frame, the lines keep the height", "[plot]") {
  // Two seeds' 95% interval (t with 1 dof) can be 20 times wider than the means' own spread.
  aaren::base::Series mean{"mean", {0, 1, 2, 3}, {40, 45, 42, 44}, {-300, -250, 20, -280}, {400, 350, 60, 380}};
  const auto svg = aaren::base::svg_line_chart({mean}, {"title", "updates", "score"});
  const std::regex frame(
      "<rect x=\"([0-9.]+)\" y=\"([0-9.]+)\" width=\"([0-9.]+)\" height=\"([0-9.]+)\" fill=\"none\"");
  std::smatch m;
  REQUIRE(std::regex_search(svg, m, frame));
  const double height = std::stod(m[4].str());
  // The line's own pixel extent: 40 to 45 is at least 40% of the frame (the band widens it by half, each side).
  const auto line = svg.find("<polyline");
  REQUIRE(line != std::string::npos);
  const auto points = svg.substr(line, svg.find("/>", line) - line);
  const std::regex pair_re("([0-9.]+),([0-9.]+)");
  double top = 1e9, bottom = -1e9;
  for (auto it = std::sregex_iterator(points.begin(), points.end(), pair_re); it != std::sregex_iterator(); ++it)
    top = std::min(top, std::stod((*it)[2].str())), bottom = std::max(bottom, std::stod((*it)[2].str()));
  CHECK(bottom - top >= 0.4 * height);
  // The band is clipped to the plot area, whose clip rectangle is the frame.
  CHECK(svg.find("<polygon clip-path=\"url(#plot-area)\"") != std::string::npos);
  const std::regex clip(
      "<clipPath id=\"plot-area\"><rect x=\"([0-9.]+)\" y=\"([0-9.]+)\" width=\"([0-9.]+)\" "
      "height=\"([0-9.]+)\"/>");
  std::smatch c;
  REQUIRE(std::regex_search(svg, c, clip));
  for (int i = 1; i <= 4; ++i) CHECK(c[i].str() == m[i].str());
}
