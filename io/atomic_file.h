// Outputs written whole or not at all: write to a temporary name in the same folder, fsync,
// rename into place; and the clean-up a signal handler needs to leave no partial file.
#pragma once
#include <cstddef>
#include <memory>
#include <string>

namespace uc {

// The write-then-rename behind every output (images, .npy maps, reports). Failures throw
// uc::Error (Output: exit 4) naming `path`; no temporary is left behind.
void write_file_atomic(const std::string& path, const void* data, size_t size);

// An output filled over a whole run (explain --dump: an HDF5 file written image by image by a
// library that wants a file name): written under temp(), renamed to the path by commit(); until
// then remove_partial_output() (on a signal) or the destructor (on an error) removes it. At most
// one exists at a time.
class RunOutput {
 public:
  explicit RunOutput(std::string path);
  ~RunOutput();
  RunOutput(const RunOutput&) = delete;
  RunOutput& operator=(const RunOutput&) = delete;
  const std::string& temp() const { return temp_; }
  void commit();  // Output error naming the path when the rename fails

 private:
  struct Partial;
  std::string path_, temp_;
  std::unique_ptr<Partial> partial_;
  bool committed_ = false;
};

// Removes the temporaries write_file_atomic and a RunOutput are writing at this moment, if any.
// Async-signal-safe: for a SIGINT/SIGTERM handler, so an interrupted run leaves no partial file.
// It knows of one temporary of each at a time, which holds because outputs are written from one
// thread.
void remove_partial_output();

}  // namespace uc
