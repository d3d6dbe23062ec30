// `unioncam eval --weights W.h5 --images DIR|FILE [IMAGE...] [--masks DIR] [--limit N] [--methods
// …]
//  [--curves DIR] [--table FILE] [--per-image FILE] [--force] [--json] [--quiet]`
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "cam/metrics.h"
#include "core/error.h"
#include "io/atomic_file.h"
#include "io/image.h"
#include "io/report.h"
#include "tools/cam_cli.h"
#include "tools/inputs.h"
#include "tools/progress.h"

namespace uc::cli {

static const std::string kEvalHelp =
    std::string(
        "usage: unioncam eval [--weights W.h5] --images DIR [IMAGE...] [options]\n"
        "\n"
        "Scores every method's explanations over a set of images (METHODS.md): Average Drop,\n"
        "Average Increase, Insertion and Deletion AUC, Overall = Insertion - Deletion, and with\n"
        "--masks the pointing game and the energy-based pointing game. Images are folders\n"
        "(searched recursively for png/jpg/jpeg/bmp files, in sorted order), files, or - for one\n"
        "image on standard input. A file that cannot be read is reported and skipped; the others\n"
        "are still scored and the exit code is 3.\n"
        "\n"
        "  --weights FILE        HDF5 weights\n"
        "                        (default: $UNIONCAM_WEIGHTS, else the bundled demo model)\n"
        "  --images PATH         a folder or file of images; more may follow as arguments\n"
        "  --masks DIR           object masks: DIR/<image name>.png, non-zero pixels = object\n"
        "  --limit N             at most N images\n"
        "  --methods M           all (default) or a comma-separated list\n"
        "  --curves DIR          write DIR/insertion.svg and DIR/deletion.svg (each method's mean\n"
        "                        curve, its AUC in the legend) and the table as DIR/table.md and\n"
        "                        DIR/table.csv; DIR is created if missing\n"
        "  --table FILE          write the results table as Markdown (.md) or CSV (.csv)\n"
        "  --per-image FILE      write every image's metrics per method as CSV (for paired\n"
        "                        comparisons between methods): scores as probabilities, drop,\n"
        "                        insertion, deletion and overall in percent, increase and\n"
        "                        pointing 0/1, energy a fraction\n"
        "  --force               replace existing output files\n"
        "  --max-pixels N        refuse images with more pixels (default 100000000)\n"
        "  --json                print one JSON document; each method also gets \"ci95\", the\n"
        "                        half-width of every metric's 95 % confidence interval\n"
        "  --quiet               no progress bar and no device note on standard error\n") +
    kCamOptionsHelp +
    "\n"
    "examples:\n"
    "  unioncam eval --weights vgg16.h5 --images val/ --masks val_masks/ --limit 100\n"
    "  unioncam eval --weights vgg16.h5 --images val/ --methods gradcam,unioncam --curves report/\n"
    "  unioncam eval --weights vgg16.h5 --images a.jpg b.jpg --table results.csv --json\n";

namespace {

std::string fixed2(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

// The table's metrics in column order, each as {mean, 95 % half-width}; pointing and energy
// in percent, like the other columns.
std::vector<std::pair<double, double>> metric_columns(const MetricsSummary& s, bool localization) {
  const MetricValues &mean = s.mean, &ci = s.ci95;
  std::vector<std::pair<double, double>> v = {{mean.avg_drop, ci.avg_drop},
                                              {mean.avg_increase, ci.avg_increase},
                                              {mean.insertion, ci.insertion},
                                              {mean.deletion, ci.deletion},
                                              {mean.overall, ci.overall}};
  if (localization)
    v.insert(v.end(),
             {{100 * mean.pointing, 100 * ci.pointing}, {100 * mean.energy, 100 * ci.energy}});
  return v;
}

// The metrics as JSON fields (no braces); pointing and energy in percent, null without masks.
std::string json_metric_fields(const MetricValues& v, bool localization) {
  return "\"avg_drop\":" + json_number(v.avg_drop) +
         ",\"avg_increase\":" + json_number(v.avg_increase) +
         ",\"insertion\":" + json_number(v.insertion) + ",\"deletion\":" + json_number(v.deletion) +
         ",\"overall\":" + json_number(v.overall) +
         ",\"pointing\":" + (localization ? json_number(100 * v.pointing) : "null") +
         ",\"energy\":" + (localization ? json_number(100 * v.energy) : "null");
}

std::string mean_pm(const std::pair<double, double>& v) {
  return fixed2(v.first) + " ± " + fixed2(v.second);
}

// Markdown puts "mean ± half-width" in each cell; CSV keeps the means as plain numbers in the
// first columns and appends the half-widths as "<metric> ±95%" columns.
Table results_table(const std::vector<CamMethod>& methods,
                    const std::vector<MetricsSummary>& summaries, bool localization,
                    bool markdown) {
  Table t;
  t.headers = {"Avg Drop", "Avg Increase", "Insertion", "Deletion", "Overall"};
  if (localization) t.headers.insert(t.headers.end(), {"Pointing", "Energy"});
  if (!markdown)
    for (size_t c = 0, n = t.headers.size(); c < n; ++c)
      t.headers.push_back(t.headers[c] + " ±95%");
  t.headers.insert(t.headers.begin(), "Method");
  for (size_t m = 0; m < methods.size(); ++m) {
    const auto values = metric_columns(summaries[m], localization);
    std::vector<std::string> row = {cam_method_name(methods[m])};
    for (const auto& v : values) row.push_back(markdown ? mean_pm(v) : fixed2(v.first));
    if (!markdown)
      for (const auto& v : values) row.push_back(fixed2(v.second));
    t.rows.push_back(std::move(row));
  }
  return t;
}

// One row per image and method: what summarize() averages, for analyses it cannot do (paired
// differences between methods, other statistics).
Table per_image_table(const std::vector<std::string>& images, const std::vector<int>& classes,
                      const std::vector<CamMethod>& methods,
                      const std::vector<std::vector<MapMetrics>>& per_method) {
  const auto number = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return std::string(buf);
  };
  Table t;
  t.headers = {"image",    "class",     "method",   "score",   "masked_score", "drop",
               "increase", "insertion", "deletion", "overall", "pointing",     "energy"};
  for (size_t i = 0; i < images.size(); ++i)
    for (size_t m = 0; m < methods.size(); ++m) {
      const MapMetrics& r = per_method[m][i];
      const bool masked = r.pointing >= 0;
      t.rows.push_back({images[i], std::to_string(classes[i]), cam_method_name(methods[m]),
                        number(r.y), number(r.o), number(r.drop), r.increase ? "1" : "0",
                        number(r.insertion), number(r.deletion), number(r.insertion - r.deletion),
                        masked ? number(r.pointing) : "", masked ? number(r.energy) : ""});
    }
  return t;
}

void write_text(const std::string& path, const std::string& text) {
  create_parent_folders(path);
  write_file_atomic(path, text.data(), text.size());
}

// The options of one run, checked before any work.
struct EvalRun {
  std::vector<std::string> image_args;
  std::vector<CamMethod> methods;
  int limit = 0;
  std::string masks_dir, curves_dir, table_path, table_ext, per_image_path;
  size_t max_pixels = kDefaultMaxPixels;
  bool json = false, quiet = false;
  bool localization() const { return !masks_dir.empty(); }
};

EvalRun parse_run(const Args& args) {
  EvalRun run;
  run.image_args = args.positional();
  if (args.has("images")) run.image_args.insert(run.image_args.begin(), args.get("images", ""));
  if (run.image_args.empty()) fail_usage("eval: no images given (--images DIR)");
  run.methods = parse_methods(args.get("methods", "all"));
  run.limit = args.get_int("limit", 1 << 30, 1, 1 << 30);
  run.masks_dir = args.get("masks", "");
  run.max_pixels = parse_max_pixels(args);
  run.json = args.flag("json"), run.quiet = args.flag("quiet");
  run.curves_dir = args.get("curves", ""), run.table_path = args.get("table", "");
  run.per_image_path = args.get("per-image", "");
  run.table_ext = lowercase_extension(run.table_path);
  if (!run.table_path.empty() && run.table_ext != ".md" && run.table_ext != ".csv")
    fail_usage("--table '" + run.table_path + "' must end in .md (Markdown) or .csv");
  return run;
}

std::vector<std::string> planned_outputs(const EvalRun& run) {
  std::vector<std::string> outputs;
  if (!run.curves_dir.empty())
    for (const char* f : {"insertion.svg", "deletion.svg", "table.md", "table.csv"})
      outputs.push_back((std::filesystem::path(run.curves_dir) / f).string());
  if (!run.table_path.empty()) outputs.push_back(run.table_path);
  if (!run.per_image_path.empty()) outputs.push_back(run.per_image_path);
  return outputs;
}

// Every image's metrics per method, and which images were scored (in order) for which class.
struct Scores {
  std::vector<std::vector<MapMetrics>> per_method;
  std::vector<std::string> images;
  std::vector<int> classes;
};

Scores score_images(const EvalRun& run, CamSession& session, const std::vector<InputImage>& images,
                    int* failures) {
  Explainer& explainer = *session.explainer;
  const VggNetwork& net = *session.network;
  Progress progress(images.size(), !run.quiet);
  Scores scores;
  scores.per_method.resize(run.methods.size());
  for (const InputImage& in : images) {
    ModelImage input;
    std::vector<uint8_t> mask;
    const bool read = progress.read_or_skip(
        [&] {
          input = prepare_model_image(load_input(in, run.max_pixels), session.preprocess,
                                      net.input_w(), net.input_h(), in.path);
          if (run.localization()) {
            const std::string stem =
                in.path == "-" ? in.name : std::filesystem::path(in.path).stem().string();
            const std::string mask_path =
                (std::filesystem::path(run.masks_dir) / (stem + ".png")).string();
            // The mask goes through the image's crop, sampled at the model's pixel centres.
            mask = mask_for_model(load_image(mask_path, run.max_pixels), input.region,
                                  net.input_w(), net.input_h());
          }
        },
        failures);
    if (!read) continue;
    explainer.set_image(to_normalized_chw(input.image, session.weights.mean, session.weights.std));
    for (size_t m = 0; m < run.methods.size(); ++m) {
      const CamResult r = explainer.explain(run.methods[m]);
      scores.per_method[m].push_back(
          evaluate_map(explainer, r.map, mask.empty() ? nullptr : &mask));
    }
    scores.images.push_back(in.path == "-" ? in.name : in.path);
    scores.classes.push_back(explainer.target_class());
    progress.step();
  }
  return scores;
}

// The files --curves, --table and --per-image ask for.
void write_reports(const EvalRun& run, const std::vector<MetricsSummary>& summaries,
                   const Scores& scores) {
  const Table markdown = results_table(run.methods, summaries, run.localization(), true);
  const Table csv = results_table(run.methods, summaries, run.localization(), false);
  if (!run.curves_dir.empty()) {
    const std::filesystem::path dir(run.curves_dir);
    const std::string n_images = " (mean over " + std::to_string(scores.images.size()) + " images)";
    std::vector<CurveSeries> insertion, deletion;
    for (size_t m = 0; m < run.methods.size(); ++m) {
      const char* name = cam_method_name(run.methods[m]);
      insertion.push_back({name, summaries[m].insertion_curve, summaries[m].mean.insertion});
      deletion.push_back({name, summaries[m].deletion_curve, summaries[m].mean.deletion});
    }
    write_text((dir / "insertion.svg").string(),
               svg_line_chart("Insertion" + n_images, "fraction of pixels inserted",
                              "class probability", insertion));
    write_text((dir / "deletion.svg").string(),
               svg_line_chart("Deletion" + n_images, "fraction of pixels deleted",
                              "class probability", deletion));
    write_text((dir / "table.md").string(), markdown_table(markdown));
    write_text((dir / "table.csv").string(), csv_table(csv));
  }
  if (!run.table_path.empty())
    write_text(run.table_path, run.table_ext == ".md" ? markdown_table(markdown) : csv_table(csv));
  if (!run.per_image_path.empty())
    write_text(run.per_image_path, csv_table(per_image_table(scores.images, scores.classes,
                                                             run.methods, scores.per_method)));
}

std::string json_summary(const EvalRun& run, const CamSession& session, int images,
                         const std::vector<MetricsSummary>& summaries) {
  std::ostringstream o;
  o << "{\"weights\":" << json_string(session.weights_file)
    << ",\"preprocess\":" << json_string(preprocess_name(session.preprocess))
    << ",\"n_images\":" << images << ",\"methods\":{";
  for (size_t m = 0; m < run.methods.size(); ++m)
    o << (m ? "," : "") << json_string(cam_method_name(run.methods[m])) << ":{"
      << json_metric_fields(summaries[m].mean, run.localization()) << ",\"ci95\":{"
      << json_metric_fields(summaries[m].ci95, run.localization()) << "}}";
  o << "}}\n";
  return o.str();
}

// Right-aligned columns of 16 characters ("mean ± half-width" of the 95 % interval); the arrows
// and ± are one character but two or three bytes.
std::string text_summary(const EvalRun& run, int images,
                         const std::vector<MetricsSummary>& summaries) {
  auto column = [](const std::string& label) {
    size_t chars = 0;
    for (unsigned char ch : label) chars += (ch & 0xC0) != 0x80;
    return std::string(chars < 16 ? 16 - chars : 0, ' ') + label;
  };
  std::ostringstream o;
  o << images << " images (mean ± 95 % interval half-width)\n"
    << "Method    ";
  for (const char* h : {"Avg Drop ↓", "Avg Inc ↑", "Insertion ↑", "Deletion ↓", "Overall ↑"})
    o << column(h);
  if (run.localization()) o << column("Pointing ↑") << column("Energy ↑");
  o << "\n";
  for (size_t m = 0; m < run.methods.size(); ++m) {
    char name[16];
    std::snprintf(name, sizeof name, "%-10s", cam_method_name(run.methods[m]));
    o << name;
    for (const auto& v : metric_columns(summaries[m], run.localization())) o << column(mean_pm(v));
    o << "\n";
  }
  return o.str();
}
}  // namespace

int cmd_eval(int argc, char** argv) {
  std::set<std::string> valued = kCamValueOptions;
  valued.insert({"weights", "images", "masks", "limit", "methods", "curves", "table", "per-image",
                 "max-pixels"});
  Args args("eval", argc, argv, valued, {"json", "quiet", "force", "help"});
  if (args.flag("help")) {
    std::fputs(kEvalHelp.c_str(), stdout);
    return 0;
  }
  const EvalRun run = parse_run(args);
  check_outputs(planned_outputs(run), args.flag("force"));

  int failures = 0;
  std::vector<InputImage> images = expand_inputs(run.image_args, &failures);
  if (static_cast<int>(images.size()) > run.limit) images.resize(static_cast<size_t>(run.limit));
  if (images.empty()) fail_input("no images to evaluate");
  CamOptions options;
  const auto session = open_cam_session(args, &options);
  if (!run.json && !run.quiet) std::cerr << session->device_note << "\n";

  const Scores scores = score_images(run, *session, images, &failures);
  const int done = static_cast<int>(scores.images.size());
  if (done == 0)
    fail_input("none of the " + std::to_string(images.size()) + " images could be read");
  std::vector<MetricsSummary> summaries;
  for (const auto& metrics : scores.per_method) summaries.push_back(summarize(metrics));
  write_reports(run, summaries, scores);
  std::cout << (run.json ? json_summary(run, *session, done, summaries)
                         : text_summary(run, done, summaries));
  return failures ? exit_code(ErrorKind::BadInput) : 0;
}

}  // namespace uc::cli
