#include "tools/progress.h"

#include <unistd.h>

#include <cstdlib>

namespace uc::cli {

namespace {
// Seconds a run must take before the bar appears: 1, or UNIONCAM_PROGRESS_AFTER (tests set 0
// so that the bar's presence does not depend on the machine's speed).
double bar_delay() {
  const char* v = std::getenv("UNIONCAM_PROGRESS_AFTER");
  return v ? std::atof(v) : 1.0;
}
}  // namespace

Progress::Progress(size_t total, bool enabled)
    : total_(total), tty_(enabled && isatty(2)), delay_(bar_delay()) {}

Progress::~Progress() { erase(); }

void Progress::erase() {
  if (!drawn_) return;
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
  drawn_ = false;
}

void Progress::step() {
  ++done_;
  if (!tty_ || done_ >= total_) return erase();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (seconds < delay_) return;
  const double rate = done_ / seconds;
  const long eta = static_cast<long>((total_ - done_) / rate + 0.5);
  constexpr size_t kWidth = 30;
  const size_t filled = kWidth * done_ / total_;
  char line[160];
  std::snprintf(line, sizeof line, "\r\033[K[%s%s] %zu/%zu  %.2f images/s  ETA %ld:%02ld",
                std::string(filled, '#').c_str(), std::string(kWidth - filled, '.').c_str(), done_,
                total_, rate, eta / 60, eta % 60);
  std::fputs(line, stderr);
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::print(FILE* stream, const std::string& text) {
  erase();
  std::fputs(text.c_str(), stream);
  std::fflush(stream);
}

void Progress::skipped(const std::string& message) {
  print(stderr, "unioncam: error: " + printable(message) + " (skipped)\n");
}

}  // namespace uc::cli
