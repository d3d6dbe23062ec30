// The `unioncam` command line: subcommands dispatch to tools/cmd_*.cpp.
#include <cstdio>
#include <cstring>
#include <string>

static const char* kUsage =
    "usage: unioncam <command> [options]\n"
    "\n"
    "commands:\n"
    "  info     describe a weights file\n"
    "  predict  classify images\n";

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  std::fprintf(stderr, "unioncam: unknown command '%s'\n%s", argv[1], kUsage);
  return 2;
}
