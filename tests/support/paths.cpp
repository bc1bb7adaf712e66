#include "tests/support/paths.hpp"

namespace sigflow::testing_support {

std::string source_dir() {
  return SIGFLOW_SOURCE_DIR;
}
std::string fixtures_dir() {
  return SIGFLOW_SOURCE_DIR "/tests/fixtures";
}
std::string sigflow_binary() {
  return SIGFLOW_BINARY;
}

}  // namespace sigflow::testing_support
