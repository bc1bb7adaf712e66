#pragma once
// What the kernel says of the mapping holding an address: its VmFlags line from /proc/self/smaps. The
// engine's and the app's tests use it to check that secrets sit in pages left out of core dumps ("dd").
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

namespace sigflow::testing_support {

// The VmFlags line of the mapping that holds `p` ("" when no mapping holds it).
inline std::string vm_flags_of(const void* p) {
  const auto address = reinterpret_cast<std::uintptr_t>(p);
  std::ifstream smaps("/proc/self/smaps");
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    std::uintptr_t begin = 0, end = 0;
    char dash = 0;
    std::istringstream head(line);
    // A mapping's first line: "7f0c...-7f0c... rw-p 00000000 00:00 0"; field lines start with a name.
    if (head >> std::hex >> begin >> dash >> end && dash == '-') {
      inside = address >= begin && address < end;
      continue;
    }
    if (inside && line.rfind("VmFlags:", 0) == 0) return line;
  }
  return {};
}

inline bool has_vm_flag(const std::string& vm_flags, const std::string& flag) {
  return (vm_flags + " ").find(" " + flag + " ") != std::string::npos;
}

}  // namespace sigflow::testing_support
