#pragma once
// Where the tests find the repository and the sigflow binary. The paths are compiled into paths.cpp alone,
// so every other test file compiles to the same object in any checkout and a compiler cache shared between
// clones (ccache with base_dir, CMakeLists.txt) serves them all.
#include <string>

namespace sigflow::testing_support {

std::string source_dir();      // the repository root
std::string fixtures_dir();    // tests/fixtures
std::string sigflow_binary();  // the built `sigflow` executable

}  // namespace sigflow::testing_support
