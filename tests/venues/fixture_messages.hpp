#pragma once
// Shared by the venue tests: fixture files read as the venue sent them. A fixture is one message or a JSON
// array of consecutive messages; the array is split on its top-level elements rather than re-serialised, so
// key order and number spelling reach the decoders byte for byte.
#include <gtest/gtest.h>
#include "tests/support/paths.hpp"

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace sigflow::io::testing {

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// tests/fixtures/<venue>/<name>
inline std::string venue_fixture(std::string_view venue, const std::string& name) {
  return read_file(sigflow::testing_support::fixtures_dir() + "/" + std::string(venue) + "/" + name);
}

inline std::vector<std::string> messages(const std::string& text) {
  const std::size_t first = text.find_first_not_of(" \r\n\t");
  if (first == std::string::npos || text[first] != '[') return {text};
  std::vector<std::string> out;
  int depth = 0;
  bool in_string = false;
  std::size_t start = std::string::npos;
  for (std::size_t i = first + 1; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (depth++ == 0) start = i;
    } else if (c == '}' || c == ']') {
      if (depth == 0) break;  // the array's own closing bracket
      if (--depth == 0) out.push_back(text.substr(start, i - start + 1));
    }
  }
  return out;
}

}  // namespace sigflow::io::testing
