// The one translation unit holding stb's implementations (Debian's libstb-dev headers), apart
// from the code that uses them, so that the build can treat third-party code as such: its
// warnings are off here, and a sanitized build does not check its shifts (stb_image_write's JPEG
// writer shifts negative values left, which GCC defines as two's complement and C++20 allows).
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <stb_image.h>
#include <stb_image_write.h>
#pragma GCC diagnostic pop
