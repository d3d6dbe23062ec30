// A small RAII layer over the HDF5 C API: the handful of reads the weights loaders need and the
// writes the tests use to build bad files. Every failure is an Error(BadInput) that names the file,
// the object and what was expected or found; HDF5's own error printing is switched off.
#pragma once
#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include "weights/weights.h"

namespace uc::h5 {

constexpr int64_t kMaxAttributeValues = int64_t(1) << 20;  // per attribute
constexpr size_t kMaxStringBytes = size_t(1) << 16;        // per fixed-length string

// Owns one HDF5 identifier and closes it with the matching H5?close function.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer close) : id_(id), close_(close) {}
  Handle(Handle&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = H5I_INVALID_HID; }
  Handle& operator=(Handle&& o) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }
  hid_t get() const { return id_; }
  void reset();

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer close_ = nullptr;
};

class File {
 public:
  static File open(const std::string& path, bool writable = false);  // missing/non-HDF5 named
  static File create(const std::string& path);                       // truncates

  const std::string& path() const { return path_; }
  hid_t id() const { return file_.get(); }

  // Names of the datasets / groups directly inside `group` ("/" for the root).
  std::vector<std::string> datasets(const std::string& group = "/") const;
  std::vector<std::string> groups(const std::string& group = "/") const;
  bool has_attribute(const std::string& object, const std::string& name) const;

  // A float16/32/64 dataset as float32; any other type is an error naming the dataset.
  HostArray read_floats(const std::string& dataset) const;
  // Strings (fixed- or variable-length, scalar or array); an empty attribute gives {}.
  std::vector<std::string> read_strings(const std::string& object, const std::string& name) const;
  // Integer or float attribute, scalar or array, as doubles.
  std::vector<double> read_numbers(const std::string& object, const std::string& name) const;

  // `data` holds prod(shape) elements of `mem_type`; stored as `file_type`. An empty shape is a
  // scalar; a name with slashes creates the groups on its way.
  void write_dataset(const std::string& name, const std::vector<int64_t>& shape, const void* data,
                     hid_t mem_type, hid_t file_type);
  void write_floats(const std::string& name, const HostArray& a);
  void write_strings(const std::string& object, const std::string& name,
                     const std::vector<std::string>& values, bool variable_length);
  void write_numbers(const std::string& object, const std::string& name,
                     const std::vector<double>& values);
  // Scalar attributes: a float64, or a variable-length UTF-8 string (h5py reads a str).
  void write_scalar(const std::string& object, const std::string& name, double value);
  void write_scalar(const std::string& object, const std::string& name, const std::string& value);
  void write_scalar_int(const std::string& object, const std::string& name, int64_t value);
  void delete_attribute(const std::string& object, const std::string& name);

 private:
  File(std::string path, Handle file) : path_(std::move(path)), file_(std::move(file)) {}
  [[noreturn]] void fail(const std::string& what) const;  // "<path>: <what>[: HDF5 detail]"
  Handle open_attribute(const std::string& object, const std::string& name) const;
  void write_scalar_attribute(const std::string& object, const std::string& name, hid_t file_type,
                              hid_t mem_type, const void* data);
  void check_attribute_size(const std::string& name, const std::string& object,
                            int64_t values) const;

  std::string path_;
  Handle file_;
};

}  // namespace uc::h5
