#include "weights/hdf5_file.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace uc::h5 {
namespace {

// HDF5 prints its error stack to stderr by default; we report errors ourselves.
void silence_hdf5() {
  static const bool done = [] { return H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr) >= 0; }();
  (void)done;
}

herr_t innermost_error(unsigned n, const H5E_error2_t* e, void* out) {
  if (n == 0 && e->desc) *static_cast<std::string*>(out) = e->desc;
  return 0;
}

// The description HDF5 gave for the failure closest to its cause (e.g. "truncated file: eof =
// ..."), then clears the stack so the next failure starts fresh.
std::string hdf5_detail() {
  std::string desc;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost_error, &desc);
  H5Eclear2(H5E_DEFAULT);
  return desc.empty() ? "" : " (HDF5: " + desc + ")";
}

std::string describe_type(hid_t type) {
  const size_t bits = H5Tget_size(type) * 8;
  switch (H5Tget_class(type)) {
    case H5T_INTEGER:
      return (H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + std::to_string(bits);
    case H5T_FLOAT: return "float" + std::to_string(bits);
    case H5T_STRING: return "string";
    case H5T_COMPOUND: return "compound";
    default: return "a non-numeric type";
  }
}

struct LinkList {
  H5I_type_t want;
  std::vector<std::string> names;
};

herr_t collect_link(hid_t group, const char* name, const H5L_info_t*, void* data) {
  auto* list = static_cast<LinkList*>(data);
  const hid_t obj = H5Oopen(group, name, H5P_DEFAULT);
  if (obj < 0) {  // dangling link: not an object we can read
    H5Eclear2(H5E_DEFAULT);
    return 0;
  }
  if (H5Iget_type(obj) == list->want) list->names.push_back(name);
  H5Oclose(obj);
  return 0;
}

// A shape's dataspace; no dimensions: a scalar.
Handle simple_space(const std::vector<int64_t>& shape) {
  if (shape.empty()) return Handle(H5Screate(H5S_SCALAR), H5Sclose);
  std::vector<hsize_t> dims(shape.begin(), shape.end());
  return Handle(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
}

}  // namespace

Handle& Handle::operator=(Handle&& o) noexcept {
  if (this != &o) {
    reset();
    id_ = o.id_, close_ = o.close_;
    o.id_ = H5I_INVALID_HID;
  }
  return *this;
}

void Handle::reset() {
  if (id_ >= 0 && close_) close_(id_);
  id_ = H5I_INVALID_HID;
}

File File::open(const std::string& path, bool writable) {
  silence_hdf5();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail_input(path + ": no such file");
  if (std::filesystem::is_directory(path, ec))
    fail_input(path + " is a directory, not an HDF5 file");
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    fail_input(path + " is not an HDF5 file (no HDF5 signature found)");
  }
  const hid_t id = H5Fopen(path.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0)
    fail_input(path + ": cannot open the HDF5 file; it may be truncated or corrupt" +
               hdf5_detail());
  return File(path, Handle(id, H5Fclose));
}

File File::create(const std::string& path) {
  silence_hdf5();
  const hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (id < 0) fail_input(path + ": cannot create the HDF5 file" + hdf5_detail());
  return File(path, Handle(id, H5Fclose));
}

void File::fail(const std::string& what) const { fail_input(path_ + ": " + what + hdf5_detail()); }

std::vector<std::string> File::datasets(const std::string& group) const {
  LinkList list{H5I_DATASET, {}};
  if (H5Literate_by_name(id(), group.c_str(), H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_link,
                         &list, H5P_DEFAULT) < 0)
    fail("cannot list the datasets in group '" + group + "'");
  return list.names;
}

std::vector<std::string> File::groups(const std::string& group) const {
  LinkList list{H5I_GROUP, {}};
  if (H5Literate_by_name(id(), group.c_str(), H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_link,
                         &list, H5P_DEFAULT) < 0)
    fail("cannot list the groups in group '" + group + "'");
  return list.names;
}

bool File::has_attribute(const std::string& object, const std::string& name) const {
  const htri_t r = H5Aexists_by_name(id(), object.c_str(), name.c_str(), H5P_DEFAULT);
  if (r < 0) H5Eclear2(H5E_DEFAULT);  // the object itself is missing: no attribute either
  return r > 0;
}

HostArray File::read_floats(const std::string& name) const {
  Handle ds(H5Dopen2(id(), name.c_str(), H5P_DEFAULT), H5Dclose);
  if (ds.get() < 0) fail("missing dataset '" + name + "'");
  Handle type(H5Dget_type(ds.get()), H5Tclose);
  const size_t size = H5Tget_size(type.get());
  if (H5Tget_class(type.get()) != H5T_FLOAT || (size != 2 && size != 4 && size != 8))
    fail("dataset '" + name + "' has unsupported type " + describe_type(type.get()) +
         "; expected float16, float32 or float64");
  Handle space(H5Dget_space(ds.get()), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) fail("dataset '" + name + "' has no simple shape");
  std::vector<hsize_t> dims(rank);
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  HostArray a;
  a.shape.assign(dims.begin(), dims.end());
  // Judged by its shape before any of it is read: a file may claim far more than it holds.
  std::string shape;
  for (hsize_t d : dims) shape += (shape.empty() ? "" : ",") + std::to_string(d);
  double values = 1;
  for (hsize_t d : dims) values *= double(d);
  if (rank > 0 && values == 0) fail("dataset '" + name + "' has shape [" + shape + "]: no values");
  if (values > double(kMaxTensorValues)) {
    char count[64];  // the product may pass any integer type (found by fuzz_weights)
    std::snprintf(count, sizeof count, "%.0f", values);
    fail("dataset '" + name + "' has shape [" + shape + "], " + count +
         " values; no VGG tensor holds more than " + std::to_string(kMaxTensorValues));
  }
  const hssize_t count = H5Sget_simple_extent_npoints(space.get());
  // Uncompressed values must be in the file before anything is allocated for them (found by
  // fuzz_weights). A compact dataset keeps them in its object header, and HDF5 1.10 copies as
  // many bytes as the shape needs without checking that the header holds them (a 1-byte message
  // read as 48 bytes); a contiguous one may claim a block past the end of a 45 KB file, which
  // HDF5 reports only after this program has allocated up to 1 GiB for it.
  Handle dcpl(H5Dget_create_plist(ds.get()), H5Pclose);
  const H5D_layout_t layout = H5Pget_layout(dcpl.get());
  if (layout == H5D_COMPACT || layout == H5D_CONTIGUOUS) {
    const hsize_t stored = H5Dget_storage_size(ds.get());
    const hsize_t needed = hsize_t(count) * size;
    if (stored < needed)
      fail("dataset '" + name + "' has " + std::to_string(stored) + " bytes stored; its shape [" +
           shape + "] needs " + std::to_string(needed));
    hsize_t file_size = 0;
    const haddr_t offset = H5Dget_offset(ds.get());
    if (layout == H5D_CONTIGUOUS && H5Fget_filesize(id(), &file_size) >= 0 &&
        (offset == HADDR_UNDEF || offset > file_size || needed > file_size - offset))
      fail("dataset '" + name + "' claims " + std::to_string(needed) +
           " bytes beyond the end of the file (" + std::to_string(file_size) + " bytes)");
  }
  a.data.resize(static_cast<size_t>(count));
  // HDF5 converts any IEEE-like float layout (half included, either byte order) to native float.
  if (!a.data.empty() &&
      H5Dread(ds.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, a.data.data()) < 0)
    fail("cannot read dataset '" + name + "'");
  return a;
}

// Attributes are small (mean, std, input_size, up to a few thousand class names): one that
// claims more is refused before anything is allocated for it.
void File::check_attribute_size(const std::string& name, const std::string& object,
                                int64_t values) const {
  if (values > kMaxAttributeValues)
    fail("attribute '" + name + "' on '" + object + "' claims " + std::to_string(values) +
         " values; at most " + std::to_string(kMaxAttributeValues) + " are read");
}

Handle File::open_attribute(const std::string& object, const std::string& name) const {
  Handle attr(H5Aopen_by_name(id(), object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
              H5Aclose);
  if (attr.get() < 0) fail("missing attribute '" + name + "' on '" + object + "'");
  return attr;
}

std::vector<std::string> File::read_strings(const std::string& object,
                                            const std::string& name) const {
  Handle attr = open_attribute(object, name);
  Handle space(H5Aget_space(attr.get()), H5Sclose);
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (n <= 0) return {};  // Keras writes layers without weights as an empty array
  check_attribute_size(name, object, n);
  Handle type(H5Aget_type(attr.get()), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING)
    fail("attribute '" + name + "' on '" + object + "' is " + describe_type(type.get()) +
         "; expected strings");
  std::vector<std::string> out;
  if (H5Tis_variable_str(type.get()) > 0) {
    Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
    std::vector<char*> buf(n, nullptr);
    if (H5Aread(attr.get(), mem.get(), buf.data()) < 0)
      fail("cannot read attribute '" + name + "' on '" + object + "'");
    for (char* s : buf) out.emplace_back(s ? s : "");
    H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, buf.data());
    return out;
  }
  const size_t size = H5Tget_size(type.get());
  if (size > kMaxStringBytes)
    fail("attribute '" + name + "' on '" + object + "' holds strings of " + std::to_string(size) +
         " bytes; at most " + std::to_string(kMaxStringBytes) + " are read");
  Handle mem(H5Tcopy(type.get()), H5Tclose);
  // strnlen below: a string that fills its width has no terminator, and needs none.
  std::vector<char> buf(size * n);
  if (H5Aread(attr.get(), mem.get(), buf.data()) < 0)
    fail("cannot read attribute '" + name + "' on '" + object + "'");
  const bool space_padded = H5Tget_strpad(type.get()) == H5T_STR_SPACEPAD;
  for (hssize_t i = 0; i < n; ++i) {
    const char* s = buf.data() + i * size;
    std::string v(s, strnlen(s, size));
    if (space_padded) v.erase(v.find_last_not_of(' ') + 1);
    out.push_back(v);
  }
  return out;
}

std::vector<double> File::read_numbers(const std::string& object, const std::string& name) const {
  Handle attr = open_attribute(object, name);
  Handle type(H5Aget_type(attr.get()), H5Tclose);
  const H5T_class_t cls = H5Tget_class(type.get());
  if (cls != H5T_INTEGER && cls != H5T_FLOAT)
    fail("attribute '" + name + "' on '" + object + "' is " + describe_type(type.get()) +
         "; expected numbers");
  Handle space(H5Aget_space(attr.get()), H5Sclose);
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  check_attribute_size(name, object, n);
  std::vector<double> v(std::max<hssize_t>(0, n));
  if (!v.empty() && H5Aread(attr.get(), H5T_NATIVE_DOUBLE, v.data()) < 0)
    fail("cannot read attribute '" + name + "' on '" + object + "'");
  return v;
}

void File::write_dataset(const std::string& name, const std::vector<int64_t>& shape,
                         const void* data, hid_t mem_type, hid_t file_type) {
  Handle space = simple_space(shape);
  Handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  Handle ds(
      H5Dcreate2(id(), name.c_str(), file_type, space.get(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT),
      H5Dclose);
  if (ds.get() < 0 || H5Dwrite(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
    fail("cannot write dataset '" + name + "'");
}

void File::write_floats(const std::string& name, const HostArray& a) {
  write_dataset(name, a.shape, a.data.data(), H5T_NATIVE_FLOAT, H5T_IEEE_F32LE);
}

void File::write_strings(const std::string& object, const std::string& name,
                         const std::vector<std::string>& values, bool variable_length) {
  Handle space = simple_space({static_cast<int64_t>(values.size())});
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  std::vector<const char*> ptrs;
  std::vector<char> fixed;
  const void* data;
  if (variable_length) {
    H5Tset_size(type.get(), H5T_VARIABLE);
    for (const auto& v : values) ptrs.push_back(v.c_str());
    data = ptrs.data();
  } else {
    size_t width = 1;
    for (const auto& v : values) width = std::max(width, v.size());
    H5Tset_size(type.get(), width);
    H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
    fixed.assign(width * values.size(), '\0');
    for (size_t i = 0; i < values.size(); ++i)
      std::memcpy(fixed.data() + i * width, values[i].data(), values[i].size());
    data = fixed.data();
  }
  Handle attr(H5Acreate_by_name(id(), object.c_str(), name.c_str(), type.get(), space.get(),
                                H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
              H5Aclose);
  if (attr.get() < 0 || H5Awrite(attr.get(), type.get(), data) < 0)
    fail("cannot write attribute '" + name + "' on '" + object + "'");
}

void File::write_numbers(const std::string& object, const std::string& name,
                         const std::vector<double>& values) {
  Handle space = simple_space({static_cast<int64_t>(values.size())});
  Handle attr(H5Acreate_by_name(id(), object.c_str(), name.c_str(), H5T_IEEE_F64LE, space.get(),
                                H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
              H5Aclose);
  if (attr.get() < 0 || H5Awrite(attr.get(), H5T_NATIVE_DOUBLE, values.data()) < 0)
    fail("cannot write attribute '" + name + "' on '" + object + "'");
}

void File::write_scalar_attribute(const std::string& object, const std::string& name,
                                  hid_t file_type, hid_t mem_type, const void* data) {
  Handle space = simple_space({});
  Handle attr(H5Acreate_by_name(id(), object.c_str(), name.c_str(), file_type, space.get(),
                                H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
              H5Aclose);
  if (attr.get() < 0 || H5Awrite(attr.get(), mem_type, data) < 0)
    fail("cannot write attribute '" + name + "' on '" + object + "'");
}

void File::write_scalar(const std::string& object, const std::string& name, double value) {
  write_scalar_attribute(object, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

void File::write_scalar_int(const std::string& object, const std::string& name, int64_t value) {
  write_scalar_attribute(object, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value);
}

void File::write_scalar(const std::string& object, const std::string& name,
                        const std::string& value) {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  const char* text = value.c_str();
  write_scalar_attribute(object, name, type.get(), type.get(), &text);
}

void File::delete_attribute(const std::string& object, const std::string& name) {
  if (H5Adelete_by_name(id(), object.c_str(), name.c_str(), H5P_DEFAULT) < 0)
    fail("cannot delete attribute '" + name + "' on '" + object + "'");
}

}  // namespace uc::h5
