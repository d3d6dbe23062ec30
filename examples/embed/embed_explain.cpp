// embed_explain WEIGHTS IMAGE OUT.npy [auto|cpu|cuda]
// Writes the UnionCAM map of IMAGE's top-1 class (float32, the model's input size) to OUT.npy:
// the same file as `unioncam explain --method unioncam --save-map` writes.
#include <unioncam/unioncam.h>

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  if (argc < 4 || argc > 5) {
    std::fprintf(stderr, "usage: embed_explain WEIGHTS IMAGE OUT.npy [auto|cpu|cuda]\n");
    return 2;
  }
  try {
    unioncam::ModelOptions options;
    const std::string device = argc == 5 ? argv[4] : "auto";
    if (device == "cpu") options.device = unioncam::Device::Cpu;
    if (device == "cuda") options.device = unioncam::Device::Cuda;

    unioncam::Model model(argv[1], options);
    const unioncam::Image image = unioncam::read_image(argv[2]);
    const unioncam::Explanation e = model.explain(image, unioncam::Method::UnionCam);
    unioncam::write_map(argv[3], e);
    std::printf("%s: class %d %s (%.2f%%), %s map selected, %d masked forwards, %.1f ms on %s\n",
                argv[2], e.target_class, e.class_name.c_str(), 100 * e.probability,
                e.fused ? "fused" : "region", e.masked_forwards, e.ms, model.device().c_str());
    return 0;
  } catch (const unioncam::Error& e) {
    std::fprintf(stderr, "embed_explain: %s\n", e.what());
    return e.exit_code();
  }
}
