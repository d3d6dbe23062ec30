// A progress bar on standard error (images done, images/s, ETA) for runs longer than a second,
// drawn only when standard error is a terminal so logs and pipes stay clean.
#pragma once
#include <chrono>
#include <cstdio>
#include <string>

#include "core/error.h"

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

  // Runs `load` (reading one input). An input error (ErrorKind::BadInput) is reported as
  // skipped, counted in *failures and stepped over: returns false. Other errors propagate.
  template <class Load>
  bool read_or_skip(Load&& load, int* failures) {
    try {
      load();
      return true;
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::BadInput) throw;
      skipped(e.what());
      step();
      ++*failures;
      return false;
    }
  }

 private:
  void erase();

  size_t total_, done_ = 0;
  bool tty_;
  double delay_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace uc::cli
