// Errors are values with a message a user can act on (file, what was expected, what was found).
// The kind maps onto the command line's exit codes: 2 usage, 3 bad input file, 4 device/runtime.
#pragma once
#include <stdexcept>
#include <string>

namespace uc {

enum class ErrorKind { Usage = 2, BadInput = 3, Device = 4 };

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }
  int exit_code() const { return static_cast<int>(kind_); }

 private:
  ErrorKind kind_;
};

[[noreturn]] inline void fail_usage(const std::string& m) { throw Error(ErrorKind::Usage, m); }
[[noreturn]] inline void fail_input(const std::string& m) { throw Error(ErrorKind::BadInput, m); }
[[noreturn]] inline void fail_device(const std::string& m) { throw Error(ErrorKind::Device, m); }

// Internal invariant (a bug in the caller, not in the user's input): reports file:line.
#define UC_ASSERT(cond, msg)                                                                  \
  do {                                                                                        \
    if (!(cond))                                                                              \
      throw ::uc::Error(::uc::ErrorKind::Device, std::string(__FILE__) + ":" +                \
                                                     std::to_string(__LINE__) + ": " + (msg)); \
  } while (0)

}  // namespace uc
