// A progress bar on standard error (images done, images/s, ETA) for runs longer than a second,
// drawn only when standard error is a terminal so logs and pipes stay clean.
#pragma once
#include <chrono>
#include <cstdio>
#include <string>

namespace uc::cli {

class Progress {
 public:
  // `enabled` false (--quiet) never draws.
  Progress(size_t total, bool enabled);
  ~Progress();  // erases the bar
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void step();  // one more image done (or skipped)
  // Writes text to `stream` with the bar out of its way; it comes back at the next step().
  void print(FILE* stream, const std::string& text);
  // A skipped input: "unioncam: error: <message> (skipped)" on standard error.
  void skipped(const std::string& message);

 private:
  void erase();

  size_t total_, done_ = 0;
  bool tty_;
  double delay_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace uc::cli
