// The one translation unit holding stb's implementations (Debian's libstb-dev headers), apart
// from the code that uses them, so that the build can treat third-party code as such: its
// warnings are off here, and a sanitized build does not check two kinds of undefined behaviour
// it has that GCC and clang define: stb_image_write's JPEG writer shifts negative values left
// (two's complement; C++20 allows it), and stb_image passes a null pointer to memcpy for zero
// bytes (found by fuzz_image; tests/fuzz/regressions/image/ keeps the input).
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <stb_image.h>
#include <stb_image_write.h>
#pragma GCC diagnostic pop
