// Outputs written whole or not at all: write to a temporary name in the same folder, fsync,
// rename into place; and the clean-up a signal handler needs to leave no partial file.
#pragma once
#include <cstddef>
#include <string>

namespace uc {

// The write-then-rename behind every output (images, .npy maps, reports). Failures throw
// uc::Error (Output: exit 4) naming `path`; no temporary is left behind.
void write_file_atomic(const std::string& path, const void* data, size_t size);

// Removes the temporary write_file_atomic is writing at this moment, if any. Async-signal-safe:
// for a SIGINT/SIGTERM handler, so an interrupted run leaves no partial file. It knows of one
// temporary at a time, which holds because outputs are written from one thread.
void remove_partial_output();

}  // namespace uc
