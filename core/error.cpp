#include "core/error.h"

#include <cstdio>

namespace uc {

namespace {
// The length of the valid UTF-8 sequence starting at s[i] (1 for ASCII), or 0.
size_t utf8_length(const std::string& s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
  // Overlong forms and surrogates are not valid UTF-8 either.
  if (n == 2 && c < 0xc2) return 0;
  if (n == 3 && ((c == 0xe0 && byte(i + 1) < 0xa0) || (c == 0xed && byte(i + 1) >= 0xa0))) return 0;
  if (n == 4 &&
      ((c == 0xf0 && byte(i + 1) < 0x90) || c > 0xf4 || (c == 0xf4 && byte(i + 1) >= 0x90)))
    return 0;
  return n;
}
}  // namespace

std::string printable(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const size_t n = utf8_length(text, i);
    if (n > 1 || (n == 1 && (c >= 0x20 || c == '\n' || c == '\t') && c != 0x7f)) {
      out.append(text, i, n);
      i += n;
    } else {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
      ++i;
    }
  }
  return out;
}

}  // namespace uc
