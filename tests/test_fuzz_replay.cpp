// Every fuzz input the project keeps, through the fuzz targets' own code (tests/fuzz/): the seeds
// and every regression input (a finding of `make fuzz`, committed once fixed). Runs in every
// build, so a fixed finding stays fixed without clang or libFuzzer.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "tests/check.h"
#include "tests/fuzz/fuzz_targets.h"

namespace fs = std::filesystem;

namespace {
std::vector<uint8_t> read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
}  // namespace

TEST_CASE("fuzz/every seed and regression input runs through its target") {
  const fs::path root = uc::test::source_path("");
  std::map<std::string, std::vector<fs::path>> inputs;
  std::ifstream seeds(root / "tests/fuzz/seeds.txt");
  REQUIRE(seeds.good());
  for (std::string line; std::getline(seeds, line);) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.find(' ');
    inputs[line.substr(0, space)].push_back(root / line.substr(space + 1));
  }
  for (const char* target : {"image", "weights", "cli"})
    for (const char* kind : {"corpus", "regressions"}) {
      const fs::path dir = root / "tests/fuzz" / kind / target;
      if (fs::is_directory(dir))
        for (const auto& entry : fs::directory_iterator(dir))
          if (entry.is_regular_file() && entry.path().filename() != ".gitkeep")
            inputs[target].push_back(entry.path());
    }
  const std::map<std::string, void (*)(const uint8_t*, size_t)> targets = {
      {"image", uc::fuzz::image}, {"weights", uc::fuzz::weights}, {"cli", uc::fuzz::cli}};
  for (const auto& [target, files] : inputs) {
    REQUIRE(targets.count(target));
    CHECK(!files.empty());
    for (const fs::path& file : files) {
      CAPTURE(file.string());
      REQUIRE(fs::is_regular_file(file));
      const std::vector<uint8_t> bytes = read_all(file);
      CHECK_NOTHROW(targets.at(target)(bytes.data(), bytes.size()));
    }
  }
  CHECK(inputs.size() == 3);
}
