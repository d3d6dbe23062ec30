#include "tools/cli.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "core/error.h"

namespace uc::cli {

Args::Args(const std::string& command, int argc, char** argv, const std::set<std::string>& valued,
           const std::set<std::string>& flags)
    : command_(command) {
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a.size() > 2 && a.compare(0, 2, "--") == 0) {
      std::string name = a.substr(2), value;
      const size_t eq = name.find('=');
      const bool inline_value = eq != std::string::npos;
      if (inline_value) value = name.substr(eq + 1), name = name.substr(0, eq);
      if (valued.count(name)) {
        if (!inline_value) {
          if (i + 1 >= argc) fail_usage(command_ + ": option --" + name + " needs a value");
          value = argv[++i];
        }
        values_[name] = value;
      } else if (flags.count(name) && !inline_value) {
        flags_.insert(name);
      } else {
        fail_usage(command_ + ": unknown option --" + name + " (see 'unioncam " + command_ +
                   " --help')");
      }
    } else {
      positional_.push_back(a);
    }
  }
}

std::string Args::get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

std::string Args::require(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) fail_usage(command_ + ": --" + name + " is required");
  return it->second;
}

int Args::get_int(const std::string& name, int fallback, int lo, int hi) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  char* end = nullptr;
  const long v = std::strtol(it->second.c_str(), &end, 10);
  if (it->second.empty() || *end != '\0' || v < lo || v > hi)
    fail_usage(command_ + ": --" + name + " expects an integer in [" + std::to_string(lo) + ", " +
               std::to_string(hi) + "], got '" + it->second + "'");
  return static_cast<int>(v);
}

std::string json_string(const std::string& text) {
  // JSON is UTF-8: bytes that are not (a file name's, say) are written as \xNN text, as in errors.
  const std::string s = printable(text);
  std::string o = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\r': o += "\\r"; break;
      case '\t': o += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          o += buf;
        } else {
          o += static_cast<char>(c);
        }
    }
  }
  return o + "\"";
}

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

void parse_input_size(const std::string& text, int* h, int* w) {
  int a = 0, b = 0;
  char extra = 0;
  const int got = std::sscanf(text.c_str(), "%dx%d%c", &a, &b, &extra);
  if (got == 1) b = a;
  if ((got != 1 && got != 2) || a <= 0 || b <= 0 || a % 32 || b % 32)
    fail_usage("--input-size expects N or HxW with positive multiples of 32, got '" + text + "'");
  *h = a;
  *w = b;
}

}  // namespace uc::cli
