// The `unioncam` command line: each subcommand lives in tools/cmd_<name>.cpp.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "runtime/error.h"
#include "tools/cli.h"

static const char* kUsage =
    "usage: unioncam <command> [options]   (unioncam <command> --help for details)\n"
    "\n"
    "commands:\n"
    "  info      describe a weights file (architecture, parameters, input size, classes)\n"
    "  predict   classify images with a VGG network\n"
    "\n"
    "exit codes: 0 ok, 2 usage error, 3 bad input file, 4 device/runtime error\n";

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  try {
    if (command == "info") return uc::cli::cmd_info(argc - 2, argv + 2);
    if (command == "predict") return uc::cli::cmd_predict(argc - 2, argv + 2);
    if (command == "bench") return uc::cli::cmd_bench(argc - 2, argv + 2);
    if (command == "explain") return uc::cli::cmd_explain(argc - 2, argv + 2);
    if (command == "eval") return uc::cli::cmd_eval(argc - 2, argv + 2);
    std::fprintf(stderr, "unioncam: unknown command '%s'\n\n%s", command.c_str(), kUsage);
    return 2;
  } catch (const uc::Error& e) {
    std::fprintf(stderr, "unioncam: error: %s\n", e.what());
    return e.exit_code();
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "unioncam: error: out of host memory\n");
    return 4;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unioncam: error: %s\n", e.what());
    return 4;
  }
}
