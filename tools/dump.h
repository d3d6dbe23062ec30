// `explain --dump FILE.h5`: every intermediate of every method run, one HDF5 file per run
// (written under a temporary name, renamed into place when the run ends), one group per image
// named by its output stem. Names and shapes: README "Dumps".
#pragma once
#include <memory>
#include <string>

#include "cam/cam.h"
#include "io/atomic_file.h"
#include "weights/hdf5_file.h"

namespace uc::cli {

// The run's settings, the root attributes.
struct DumpSettings {
  std::string weights, layer, score, mask_space, region;
  double theta = 0;
  int groups = 0;
};

class DumpWriter {
 public:
  DumpWriter(const std::string& path, const DumpSettings& settings);
  // One image's group: its attributes and every array and attribute of `trace`.
  void add_image(const std::string& group, const std::string& path, int target_class,
                 const std::string& class_name, double prob, const CamTrace& trace);
  void commit();  // closes the file and renames it into place

 private:
  std::string path_;
  RunOutput output_;
  std::unique_ptr<h5::File> file_;
};

}  // namespace uc::cli
