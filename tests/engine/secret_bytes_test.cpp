#include "engine/secret_bytes.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

namespace sigflow::engine {
namespace {

// The VmFlags line of the mapping that holds `p`, from /proc/self/smaps ("" when no mapping holds it).
std::string vm_flags_of(const void* p) {
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

bool has_flag(const std::string& vm_flags, const std::string& flag) {
  return (vm_flags + " ").find(" " + flag + " ") != std::string::npos;
}

TEST(SecretBytes, HoldsTheBytesInAPageLeftOutOfCoreDumps) {
  const SecretBytes key("sk-test-0123456789");
  EXPECT_EQ(key.view(), "sk-test-0123456789");
  EXPECT_TRUE(key.dontdump());
  const std::string flags = vm_flags_of(key.view().data());
  ASSERT_FALSE(flags.empty()) << "no mapping holds the key";
  // "dd": do not include in core dumps (MADV_DONTDUMP). "lo" (mlock) depends on RLIMIT_MEMLOCK.
  EXPECT_TRUE(has_flag(flags, "dd")) << flags;
// The sanitizers' mlock interceptors do nothing and report success.
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  if (key.locked()) {
    EXPECT_TRUE(has_flag(flags, "lo")) << flags;
  }
#endif
  // The page is the key's alone: nothing else the allocator hands out shares it.
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(key.view().data()) % 4096, 0u);
}

TEST(SecretBytes, PrefixIsJoinedInsideTheProtectedPage) {
  const SecretBytes header("Bearer ", "sk-test-0123456789");
  EXPECT_EQ(header.view(), "Bearer sk-test-0123456789");
  EXPECT_TRUE(has_flag(vm_flags_of(header.view().data()), "dd"));
}

TEST(SecretBytes, CopiesGetTheirOwnProtectedPageAndMovesTransferIt) {
  SecretBytes a("sk-a");
  SecretBytes b(a);
  EXPECT_EQ(b.view(), "sk-a");
  EXPECT_NE(a.view().data(), b.view().data());
  EXPECT_TRUE(has_flag(vm_flags_of(b.view().data()), "dd"));
  const char* where = b.view().data();
  SecretBytes c(std::move(b));
  EXPECT_EQ(c.view().data(), where);
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move): a moved-from secret is empty by contract
  c.assign("sk-longer-key");
  EXPECT_EQ(c.view(), "sk-longer-key");
  c.clear();
  EXPECT_TRUE(c.empty());
  EXPECT_FALSE(c.dontdump());
}

TEST(SecretBytes, EmptyHoldsNoPage) {
  const SecretBytes empty("");
  EXPECT_TRUE(empty.empty());
  EXPECT_FALSE(empty.dontdump());
}

}  // namespace
}  // namespace sigflow::engine
