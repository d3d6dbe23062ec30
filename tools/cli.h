// Shared pieces of the command line: argument parsing, JSON output, common options.
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/context.h"

namespace uc::cli {

// Parses `--name value` / `--flag` options and positional arguments. Unknown options and
// missing values are usage errors (exit 2) naming the option.
class Args {
 public:
  Args(const std::string& command, int argc, char** argv, const std::set<std::string>& valued,
       const std::set<std::string>& flags);
  bool flag(const std::string& name) const { return flags_.count(name) > 0; }
  bool has(const std::string& name) const { return values_.count(name) > 0; }
  std::string get(const std::string& name, const std::string& fallback) const;
  std::string require(const std::string& name) const;
  int get_int(const std::string& name, int fallback, int lo, int hi) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::string command_;
  std::map<std::string, std::string> values_;
  std::set<std::string> flags_;
  std::vector<std::string> positional_;
};

// Minimal JSON writer: values are appended in order; the caller supplies structure.
std::string json_string(const std::string& s);
std::string json_number(double v);  // null for NaN/Inf

// The --preprocess option's help, shared by predict, explain and eval.
#define UC_PREPROCESS_HELP                                                                     \
  "  --preprocess P        how an image becomes the model's input (default: the weights\n"     \
  "                        file's preprocess attribute, else antialias):\n"                    \
  "                          antialias    antialiased bilinear to the input size (PIL's\n"     \
  "                                       BILINEAR, as torchvision's Resize on PIL images)\n"  \
  "                          torchvision  shorter side to 256*input/224 (antialiased), then\n" \
  "                                       a centre crop to the input size (Resize +\n"         \
  "                                       CenterCrop); overlays colour only the cropped\n"     \
  "                                       part, .npy maps stay at the input size\n"            \
  "                          keras        nearest neighbour to the input size (Keras'\n"       \
  "                                       load_img; the default for Keras weights files)\n"    \
  "                          plain        bilinear without antialiasing (before 0.7)\n"

// --input-size: "224" or "HxW".
void parse_input_size(const std::string& text, int* h, int* w);

int cmd_info(int argc, char** argv);
int cmd_predict(int argc, char** argv);
int cmd_bench(int argc, char** argv);
int cmd_explain(int argc, char** argv);
int cmd_eval(int argc, char** argv);

}  // namespace uc::cli
