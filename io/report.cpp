#include "io/report.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <iterator>

#include "core/error.h"

namespace uc {
namespace {

// std::to_chars ignores the locale, so a chart never gets decimal commas.
std::string fixed(double v, int decimals) {
  char buf[400];  // enough for any finite double in fixed notation
  return {buf, std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, decimals).ptr};
}

// Control bytes other than tab and line breaks are not allowed in XML 1.0, so they become '?'.
std::string xml_escape(const std::string& s) {
  std::string out;
  for (const char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        out +=
            static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r' ? '?' : c;
    }
  }
  return out;
}

double finite_or_zero(double v) { return std::isfinite(v) ? v : 0.0; }

// The smallest 1, 2 or 5 times a power of ten that splits [0, top] into at most five steps.
double nice_step(double top) {
  const double raw = top / 5, magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (const double m : {1.0, 2.0, 5.0})
    if (raw <= m * magnitude * (1 + 1e-9)) return m * magnitude;
  return 10 * magnitude;
}

}  // namespace

std::string svg_line_chart(const std::string& title, const std::string& x_label,
                           const std::string& y_label, const std::vector<CurveSeries>& series) {
  // Plot area in SVG pixels; the legend takes the strip right of it.
  constexpr double kLeft = 64, kTop = 44, kRight = 440, kBottom = 336;
  static const char* const kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                         "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  double max_value = 1e-9;
  for (const auto& s : series)
    for (const double v : s.values) max_value = std::max(max_value, finite_or_zero(v));
  const double step = nice_step(max_value);
  const int y_ticks = int(std::ceil(max_value / step - 1e-9));
  const double y_top = y_ticks * step;
  const int y_decimals = std::max(0, int(-std::floor(std::log10(step) + 1e-9)));
  const auto px = [&](double x) { return fixed(kLeft + x * (kRight - kLeft), 2); };
  const auto py = [&](double y) { return fixed(kBottom - y / y_top * (kBottom - kTop), 2); };

  std::string svg =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"400\" viewBox=\"0 0 640 "
      "400\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"640\" height=\"400\" fill=\"white\"/>\n"
      "<text x=\"320\" y=\"26\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">" +
      xml_escape(title) + "</text>\n";
  for (int i = 0; i <= 5; ++i) {
    const std::string x = px(i / 5.0);
    svg += "<line x1=\"" + x + "\" y1=\"" + fixed(kTop, 2) + "\" x2=\"" + x + "\" y2=\"" +
           fixed(kBottom + 4, 2) + "\" stroke=\"#e4e4e4\"/>\n<text x=\"" + x + "\" y=\"" +
           fixed(kBottom + 18, 2) + "\" text-anchor=\"middle\">" + fixed(i / 5.0, 1) + "</text>\n";
  }
  for (int i = 0; i <= y_ticks; ++i) {
    const std::string y = py(i * step);
    svg += "<line x1=\"" + fixed(kLeft - 4, 2) + "\" y1=\"" + y + "\" x2=\"" + fixed(kRight, 2) +
           "\" y2=\"" + y + "\" stroke=\"#e4e4e4\"/>\n<text x=\"" + fixed(kLeft - 8, 2) +
           "\" y=\"" + y + "\" text-anchor=\"end\" dominant-baseline=\"middle\">" +
           fixed(i * step, y_decimals) + "</text>\n";
  }
  // Axes drawn over the grid lines.
  svg += "<polyline points=\"" + fixed(kLeft, 2) + "," + fixed(kTop, 2) + " " + fixed(kLeft, 2) +
         "," + fixed(kBottom, 2) + " " + fixed(kRight, 2) + "," + fixed(kBottom, 2) +
         "\" fill=\"none\" stroke=\"#333333\" class=\"axes\"/>\n";
  svg += "<text x=\"" + fixed((kLeft + kRight) / 2, 2) + "\" y=\"" + fixed(kBottom + 44, 2) +
         "\" text-anchor=\"middle\" font-size=\"13\">" + xml_escape(x_label) + "</text>\n";
  svg += "<text transform=\"translate(20," + fixed((kTop + kBottom) / 2, 2) +
         ") rotate(-90)\" text-anchor=\"middle\" font-size=\"13\">" + xml_escape(y_label) +
         "</text>\n";

  for (size_t s = 0; s < series.size(); ++s) {
    const auto& values = series[s].values;
    const std::string colour = kColours[s % std::size(kColours)];
    const double n = std::max<double>(1, double(values.size()) - 1);
    std::string points;
    for (size_t i = 0; i < values.size(); ++i)
      points += (i ? " " : "") + px(i / n) + "," + py(finite_or_zero(values[i]));
    svg += "<polyline class=\"series\" points=\"" + points + "\" fill=\"none\" stroke=\"" + colour +
           "\" stroke-width=\"2\" stroke-linejoin=\"round\"/>\n";
    const double ly = kTop + 8 + 20 * double(s);
    const std::string entry = series[s].name + " (AUC " + fixed(series[s].auc, 2) + ")";
    // Long entries get a smaller font to fit the 156 px left of the right edge (sans-serif
    // glyphs average about 0.55 em).
    const double font = std::clamp(156 / (0.55 * double(entry.size())), 7.0, 12.0);
    svg += "<line x1=\"452\" y1=\"" + fixed(ly, 2) + "\" x2=\"472\" y2=\"" + fixed(ly, 2) +
           "\" stroke=\"" + colour + "\" stroke-width=\"3\"/>\n<text x=\"478\" y=\"" +
           fixed(ly, 2) + "\" font-size=\"" + fixed(font, 1) + "\" dominant-baseline=\"middle\">" +
           xml_escape(entry) + "</text>\n";
  }
  return svg + "</svg>\n";
}

namespace {

// Display width of UTF-8 text: continuation bytes take no column.
size_t columns(const std::string& s) {
  return size_t(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

bool is_number(const std::string& s) {
  double v;
  const auto [end, err] = std::from_chars(s.data(), s.data() + s.size(), v);
  return !s.empty() && err == std::errc() && end == s.data() + s.size();
}

void check_rows(const Table& t) {
  for (size_t r = 0; r < t.rows.size(); ++r)
    UC_ASSERT(t.rows[r].size() == t.headers.size(),
              "table row " + std::to_string(r) + " has " + std::to_string(t.rows[r].size()) +
                  " cells for " + std::to_string(t.headers.size()) + " headers");
}

}  // namespace

std::string markdown_table(const Table& t) {
  check_rows(t);
  const auto cell_text = [](const std::string& s) {
    std::string out;
    for (const char c : s)
      out += c == '|' ? "\\|" : c == '\n' || c == '\r' ? " " : std::string(1, c);
    return out;
  };
  const size_t cols = t.headers.size();
  std::vector<std::vector<std::string>> cells{{}};
  for (const auto& h : t.headers) cells[0].push_back(cell_text(h));
  std::vector<size_t> width(cols, 3);
  std::vector<bool> numeric(cols, !t.rows.empty());
  for (const auto& row : t.rows) {
    cells.emplace_back();
    for (size_t c = 0; c < cols; ++c) {
      numeric[c] = numeric[c] && is_number(row[c]);
      cells.back().push_back(cell_text(row[c]));
    }
  }
  for (const auto& row : cells)
    for (size_t c = 0; c < cols; ++c) width[c] = std::max(width[c], columns(row[c]));

  const auto line = [&](const std::vector<std::string>& row) {
    std::string out = "|";
    for (size_t c = 0; c < cols; ++c) {
      const std::string fill(width[c] - columns(row[c]), ' ');
      out += " " + (numeric[c] ? fill + row[c] : row[c] + fill) + " |";
    }
    return out + "\n";
  };
  std::string out = line(cells[0]) + "|";
  for (size_t c = 0; c < cols; ++c)
    out += " " + (numeric[c] ? std::string(width[c] - 1, '-') + ":" : std::string(width[c], '-')) +
           " |";
  out += "\n";
  for (size_t r = 1; r < cells.size(); ++r) out += line(cells[r]);
  return out;
}

std::string csv_table(const Table& t) {
  check_rows(t);
  const auto field = [](const std::string& s) {
    if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
    std::string out = "\"";
    for (const char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
  };
  const auto line = [&](const std::vector<std::string>& row) {
    std::string out;
    for (size_t c = 0; c < row.size(); ++c) out += (c ? "," : "") + field(row[c]);
    return out + "\n";
  };
  std::string out = line(t.headers);
  for (const auto& row : t.rows) out += line(row);
  return out;
}

}  // namespace uc
