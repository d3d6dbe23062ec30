#include "tools/dump.h"

#include "core/context.h"
#include "core/error.h"

namespace uc::cli {

namespace {
// The dump's HDF5 failures are outputs that cannot be written (exit 4), not bad inputs.
template <typename Body>
void as_output_error(const std::string& path, Body&& body) {
  try {
    body();
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::BadInput) throw;
    fail_output("cannot write the dump '" + path + "': " + e.what());
  }
}

// "a/b/name" -> ("a/b", "name"): where an attribute named with the dump's slashes lives.
std::pair<std::string, std::string> split_attribute(const std::string& group,
                                                    const std::string& name) {
  const size_t slash = name.rfind('/');
  if (slash == std::string::npos) return {group, name};
  return {group + "/" + name.substr(0, slash), name.substr(slash + 1)};
}
}  // namespace

DumpWriter::DumpWriter(const std::string& path, const DumpSettings& s)
    : path_(path), output_(path) {
  as_output_error(path_, [&] {
    file_ = std::make_unique<h5::File>(h5::File::create(output_.temp()));
    file_->write_scalar("/", "unioncam_version", std::string(version()));
    file_->write_scalar("/", "weights", s.weights);
    file_->write_scalar("/", "layer", s.layer);
    file_->write_scalar("/", "score", s.score);
    file_->write_scalar("/", "mask_space", s.mask_space);
    file_->write_scalar("/", "theta", s.theta);
    file_->write_scalar_int("/", "groups", s.groups);
    file_->write_scalar("/", "region", s.region);
  });
}

void DumpWriter::add_image(const std::string& group, const std::string& path, int target_class,
                           const std::string& class_name, double prob, const CamTrace& trace) {
  as_output_error(path_, [&] {
    const std::string g = "/" + group;
    for (const auto& [name, a] : trace.arrays) {
      if (a.int_valued) {
        std::vector<int32_t> ints(a.values.begin(), a.values.end());
        file_->write_dataset(g + "/" + name, a.shape, ints.data(), H5T_NATIVE_INT32, H5T_STD_I32LE);
      } else {
        file_->write_dataset(g + "/" + name, a.shape, a.values.data(), H5T_NATIVE_FLOAT,
                             H5T_IEEE_F32LE);
      }
    }
    for (const auto& [name, v] : trace.numbers) {
      const auto [object, attr] = split_attribute(g, name);
      file_->write_scalar(object, attr, v);
    }
    for (const auto& [name, v] : trace.strings) {
      const auto [object, attr] = split_attribute(g, name);
      file_->write_scalar(object, attr, v);
    }
    file_->write_scalar(g, "path", path);
    file_->write_scalar_int(g, "class", target_class);
    file_->write_scalar(g, "class_name", class_name);
    file_->write_scalar(g, "prob", prob);
  });
}

void DumpWriter::commit() {
  file_.reset();  // closes (and flushes) the HDF5 file
  output_.commit();
}

}  // namespace uc::cli
