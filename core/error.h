// Errors are values with a message a user can act on (file, what was expected, what was found).
// Callers decide by kind, never by message; the kind maps onto the command line's exit codes:
// 2 usage, 3 bad input file, 4 device/runtime (device failures, out of memory, outputs that
// cannot be written, internal errors).
#pragma once
#include <stdexcept>
#include <string>

namespace uc {

enum class ErrorKind {
  Usage,        // the command line or an option is wrong
  BadInput,     // an input file is unreadable or not what it should be
  Device,       // the CUDA device, driver or libraries failed
  OutOfMemory,  // an allocation failed or would pass the --max-memory cap: smaller batches may fit
  Output,       // an output cannot be written (a full disk, a folder that cannot be made)
  Internal,     // a broken invariant: a bug in this program, not in the user's input
};

constexpr int exit_code(ErrorKind kind) {
  return kind == ErrorKind::Usage ? 2 : kind == ErrorKind::BadInput ? 3 : 4;
}

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }
  int exit_code() const { return ::uc::exit_code(kind_); }

 private:
  ErrorKind kind_;
};

// A message as a terminal should show it: valid UTF-8 and tabs/newlines stay, every other byte
// (a file name or an attribute that is not UTF-8, a control character) becomes \xNN, so no
// error prints raw bytes of a file.
std::string printable(const std::string& text);

[[noreturn]] inline void fail_usage(const std::string& m) { throw Error(ErrorKind::Usage, m); }
[[noreturn]] inline void fail_input(const std::string& m) { throw Error(ErrorKind::BadInput, m); }
[[noreturn]] inline void fail_device(const std::string& m) { throw Error(ErrorKind::Device, m); }
[[noreturn]] inline void fail_output(const std::string& m) { throw Error(ErrorKind::Output, m); }
[[noreturn]] inline void fail_out_of_memory(const std::string& m) {
  throw Error(ErrorKind::OutOfMemory, m);
}

// Internal invariant (a bug in the caller, not in the user's input): reports file:line.
#define UC_ASSERT(cond, msg)                                                                    \
  do {                                                                                          \
    if (!(cond))                                                                                \
      throw ::uc::Error(::uc::ErrorKind::Internal,                                              \
                        std::string(__FILE__) + ":" + std::to_string(__LINE__) + ": " + (msg)); \
  } while (0)

}  // namespace uc
