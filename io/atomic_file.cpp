#include "io/atomic_file.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>

#include "core/error.h"

namespace uc {

namespace {
// The temporary being written, for remove_partial_output(): a fixed buffer and a flag, since a
// signal handler may neither allocate nor take locks. The flag is cleared while the buffer
// changes, so the handler never reads a half-copied name.
// Two slots: 0 for write_file_atomic's short writes, 1 for a RunOutput open over a whole run.
char g_partial_path[2][4096];
volatile std::sig_atomic_t g_partial_set[2] = {0, 0};

// Records `tmp` (before the file exists) in a slot for the signal handler, and forgets it when
// destroyed (after the rename or the clean-up of a failure).
class PartialOutput {
 public:
  PartialOutput(const std::string& tmp, int slot) : slot_(slot) {
    if (tmp.size() >= sizeof g_partial_path[slot])
      return;  // too long to record: not cleaned up on a signal
    g_partial_set[slot] = 0;
    std::atomic_signal_fence(std::memory_order_seq_cst);
    std::memcpy(g_partial_path[slot], tmp.c_str(), tmp.size() + 1);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    g_partial_set[slot] = 1;
  }
  ~PartialOutput() { g_partial_set[slot_] = 0; }
  PartialOutput(const PartialOutput&) = delete;
  PartialOutput& operator=(const PartialOutput&) = delete;

 private:
  int slot_;
};

std::string temporary_name(const std::string& path) {
  // Unique per process and call, so concurrent writers never share a temporary.
  static std::atomic<unsigned> counter{0};
  return path + ".tmp." + std::to_string(getpid()) + "." + std::to_string(counter++);
}
}  // namespace

void remove_partial_output() {
  for (int slot = 0; slot < 2; ++slot)
    if (g_partial_set[slot]) unlink(g_partial_path[slot]);
}

struct RunOutput::Partial : PartialOutput {
  using PartialOutput::PartialOutput;
};

RunOutput::RunOutput(std::string path) : path_(std::move(path)), temp_(temporary_name(path_)) {
  partial_ = std::make_unique<Partial>(temp_, 1);
}

RunOutput::~RunOutput() {
  if (!committed_) std::remove(temp_.c_str());
}

void RunOutput::commit() {
  if (std::rename(temp_.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    std::remove(temp_.c_str());
    committed_ = true;
    fail_output("cannot write '" + path_ + "': renaming '" + temp_ + "': " + std::strerror(err));
  }
  committed_ = true;
  partial_.reset();
}

void write_file_atomic(const std::string& path, const void* data, size_t size) {
  const std::string tmp = temporary_name(path);
  const PartialOutput partial(tmp, 0);
  const auto fail = [&](const std::string& what, int err) {
    std::remove(tmp.c_str());
    fail_output("cannot write '" + path + "': " + what + ": " + std::strerror(err));
  };
  FILE* f = std::fopen(tmp.c_str(), "wbx");
  if (!f)
    fail_output("cannot write '" + path + "': cannot create '" + tmp +
                "': " + std::strerror(errno));
  // fsync before rename: after a crash the name points at complete data or at the old file.
  const bool written =
      std::fwrite(data, 1, size, f) == size && std::fflush(f) == 0 && fsync(fileno(f)) == 0;
  const int err = errno;
  if (std::fclose(f) != 0 && written) fail("closing '" + tmp + "'", errno);
  if (!written) fail("writing '" + tmp + "'", err);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail("renaming '" + tmp + "'", errno);
}

}  // namespace uc
