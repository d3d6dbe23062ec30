// The `unioncam` command line: each subcommand lives in tools/cmd_<name>.cpp.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <string>

#include "core/context.h"
#include "core/error.h"
#include "io/atomic_file.h"
#include "io/image.h"
#include "tools/cli.h"

static const char* kUsage =
    "usage: unioncam <command> [options]   (unioncam <command> --help for details)\n"
    "\n"
    "commands:\n"
    "  info      describe a weights file (architecture, parameters, input size, classes)\n"
    "  predict   classify images with a VGG network\n"
    "  explain   class activation maps of predictions, drawn over the images\n"
    "  eval      score the CAM methods over a set of images (drop/increase, insertion/deletion)\n"
    "  bench     time the network and the CAM methods\n"
    "  version   this build's libraries and the CUDA device it sees (also --version)\n"
    "\n"
    "Images are files, folders (searched recursively for png/jpg/jpeg/bmp) or - for one image\n"
    "on standard input.\n"
    "\n"
    "examples:\n"
    "  unioncam explain cat.jpg          (the bundled demo model, or $UNIONCAM_WEIGHTS)\n"
    "  unioncam info --weights vgg16.h5\n"
    "  unioncam predict --weights vgg16.h5 photos/ --topk 3\n"
    "  unioncam explain --weights vgg16.h5 --method all --grid grid.png cat.jpg\n"
    "  unioncam eval --weights vgg16.h5 --images val/ --curves curves/\n"
    "\n"
    "exit codes: 0 ok, 2 usage error, 3 bad input file, 4 device/runtime error (an unwritable\n"
    "standard output included), 130 interrupted (SIGINT), 143 terminated (SIGTERM)\n";

// Ctrl-C or a termination request: remove the output being written, then leave at once with
// the shell's 128 + signal status. Only async-signal-safe calls here.
extern "C" void on_interrupt(int sig) {
  uc::remove_partial_output();
  static const char kNote[] = "\nunioncam: interrupted\n";
  [[maybe_unused]] const ssize_t written = write(2, kNote, sizeof kNote - 1);  // best effort
  _exit(128 + sig);
}

// Standard output is part of a command's result: a write that failed (a full disk, a reader
// that has gone) turns success into a device/runtime error.
int finish_output(int status) {
  errno = 0;
  std::cout.flush();
  const bool failed = !std::cout.good() || std::fflush(stdout) != 0 || std::ferror(stdout);
  if (!failed || status != 0) return status;
  std::fprintf(stderr, "unioncam: error: cannot write to standard output: %s\n",
               errno ? std::strerror(errno) : "write failed");
  return 4;
}

int run_command(const std::string& command, int argc, char** argv) {
  try {
    if (command == "info") return uc::cli::cmd_info(argc - 2, argv + 2);
    if (command == "predict") return uc::cli::cmd_predict(argc - 2, argv + 2);
    if (command == "bench") return uc::cli::cmd_bench(argc - 2, argv + 2);
    if (command == "explain") return uc::cli::cmd_explain(argc - 2, argv + 2);
    if (command == "eval") return uc::cli::cmd_eval(argc - 2, argv + 2);
    std::fprintf(stderr, "unioncam: unknown command '%s'\n\n%s", command.c_str(), kUsage);
    return 2;
  } catch (const uc::Error& e) {
    std::fprintf(stderr, "unioncam: error: %s\n", uc::printable(e.what()).c_str());
    return e.exit_code();
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "unioncam: error: out of host memory\n");
    return 4;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unioncam: error: %s\n", uc::printable(e.what()).c_str());
    return 4;
  }
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  // Installed even where the shell ignores SIGINT (background jobs): the clean-up must run.
  struct sigaction sa = {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  // A reader that has gone: write() fails with EPIPE and finish_output reports it.
  signal(SIGPIPE, SIG_IGN);

  const std::string command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(kUsage, stdout);
    return finish_output(0);
  }
  if (command == "--version" || command == "version") {
    std::fputs(uc::build_summary().c_str(), stdout);
    return finish_output(0);
  }
  return finish_output(run_command(command, argc, argv));
}
