// Small string helpers shared by the rooms.
#pragma once

#include <algorithm>
#include <cctype>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

namespace amlemu {

/// The items with `sep` between them.
inline std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

/// ASCII lower case.
inline std::string to_lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

/// A JSON library message without its "[json.exception.parse_error.101] " tag.
inline std::string json_error(const std::exception& e) {
  std::string what = e.what();
  if (what.rfind("[json.exception.", 0) == 0) {
    const auto end = what.find("] ");
    if (end != std::string::npos) what.erase(0, end + 2);
  }
  return what;
}

/// Length of the valid UTF-8 sequence at `s[i]` (1 to 4), or 0 when the bytes there are not one.
inline size_t utf8_sequence(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t n = 0;
  unsigned min = 0;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  unsigned cp = c & (0xFF >> (n + 1));
  for (size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

/// True when `s` is valid UTF-8.
inline bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_sequence(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

/// Why a file name cannot be recorded as it is (run history and logs hold names one per line, as
/// JSON text): "holds a line break" or "is not valid UTF-8"; empty when it can.
inline std::string file_name_problem(std::string_view name) {
  if (name.find_first_of("\n\r") != std::string_view::npos) return "holds a line break";
  if (!valid_utf8(name)) return "is not valid UTF-8";
  return "";
}

/// `s` fit for a one-line message: control characters and bytes that are not UTF-8 are written
/// as escapes (\n, \t, \xff).
inline std::string printable(std::string_view s) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t n = utf8_sequence(s, i);
    if (n > 1 || (n == 1 && c >= 0x20 && c != 0x7F)) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
    ++i;
  }
  return out;
}

/// The shape of a name the service accepts: a first character that is a letter (or a digit, when
/// `digit_first`, or one of `first_extra`), then letters, digits or `rest_extra`, `min` to `max`
/// characters in all; ASCII only. What a regular expression such as ^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$
/// says, without compiling one on every command.
struct NameRule {
  bool digit_first = true;
  std::string_view first_extra = {};
  std::string_view rest_extra = {};
  size_t min = 1;
  size_t max = std::string_view::npos;
};

inline bool ascii_letter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
inline bool ascii_digit(char c) { return c >= '0' && c <= '9'; }

/// True when `s` has the shape `rule` describes.
inline bool matches(std::string_view s, const NameRule& rule) {
  if (s.size() < rule.min || s.size() > rule.max || s.empty()) return false;
  const char first = s[0];
  if (!ascii_letter(first) && !(rule.digit_first && ascii_digit(first)) &&
      rule.first_extra.find(first) == std::string_view::npos) {
    return false;
  }
  for (size_t i = 1; i < s.size(); ++i) {
    const char c = s[i];
    if (!ascii_letter(c) && !ascii_digit(c) && rule.rest_extra.find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

/// Letters, digits and '_', not starting with a digit: a Python or shell identifier.
inline constexpr NameRule kIdentifier{.digit_first = false, .first_extra = "_", .rest_extra = "_"};
/// A job, run or experiment name: 1 to 255 letters, digits, '_' or '-', starting with a letter
/// or digit.
inline constexpr NameRule kRunName{.rest_extra = "_-", .max = 255};
/// An asset (model, environment, data) name or version: 1 to 255 letters, digits, '.', '_' or
/// '-', starting with a letter or digit.
inline constexpr NameRule kAssetName{.rest_extra = "._-", .max = 255};

}  // namespace amlemu
