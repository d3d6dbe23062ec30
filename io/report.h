// Text reports of evaluation results: an SVG chart of insertion/deletion curves, and tables as
// GitHub Markdown or CSV. Output is deterministic: numbers in fixed notation, independent of the
// locale.
#pragma once
#include <string>
#include <vector>

namespace uc {

// One curve: values[i] is plotted at x = i / (values.size() - 1), so x runs over [0, 1].
struct CurveSeries {
  std::string name;
  std::vector<double> values;
  double auc = 0;  // shown in the legend as "name (AUC 12.34)"
};

// A standalone 640x400 SVG line chart: one polyline per series in distinct colours, x axis with
// ticks 0..1, y axis from 0 to the largest value rounded up to a 1/2/5 step, light grid lines,
// title, axis labels and a legend right of the plot. Text is XML-escaped; non-finite values are
// drawn as 0.
std::string svg_line_chart(const std::string& title, const std::string& x_label,
                           const std::string& y_label, const std::vector<CurveSeries>& series);

// Every row has headers.size() cells.
struct Table {
  std::vector<std::string> headers;
  std::vector<std::vector<std::string>> rows;
};

// GitHub pipe table with columns padded to a common width. Columns whose cells all parse as
// numbers are right-aligned ("---:"); '|' in a cell is escaped and newlines become spaces.
std::string markdown_table(const Table& t);

// RFC 4180: fields holding a comma, quote or line break are quoted with quotes doubled; lines
// end with "\n".
std::string csv_table(const Table& t);

}  // namespace uc
