#include "engine/secret_bytes.hpp"

#include "tests/engine/vm_flags.hpp"
#include "tests/support/sanitized.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace sigflow::engine {
namespace {

using testing_support::has_vm_flag;
using testing_support::vm_flags_of;

TEST(SecretBytes, HoldsTheBytesInAPageLeftOutOfCoreDumps) {
  const SecretBytes key("sk-test-0123456789");
  EXPECT_EQ(key.view(), "sk-test-0123456789");
  EXPECT_TRUE(key.dontdump());
  const std::string flags = vm_flags_of(key.view().data());
  ASSERT_FALSE(flags.empty()) << "no mapping holds the key";
  // "dd": do not include in core dumps (MADV_DONTDUMP). "lo" (mlock) depends on RLIMIT_MEMLOCK.
  EXPECT_TRUE(has_vm_flag(flags, "dd")) << flags;
// The sanitizers' mlock interceptors do nothing and report success.
#if !defined(SIGFLOW_SANITIZED)
  if (key.locked()) {
    EXPECT_TRUE(has_vm_flag(flags, "lo")) << flags;
  }
#endif
  // The page is the key's alone: nothing else the allocator hands out shares it.
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(key.view().data()) % 4096, 0u);
}

TEST(SecretBytes, PrefixIsJoinedInsideTheProtectedPage) {
  const SecretBytes header("Bearer ", "sk-test-0123456789");
  EXPECT_EQ(header.view(), "Bearer sk-test-0123456789");
  EXPECT_TRUE(has_vm_flag(vm_flags_of(header.view().data()), "dd"));
}

TEST(SecretBytes, CopiesGetTheirOwnProtectedPageAndMovesTransferIt) {
  SecretBytes a("sk-a");
  SecretBytes b(a);
  EXPECT_EQ(b.view(), "sk-a");
  EXPECT_NE(a.view().data(), b.view().data());
  EXPECT_TRUE(has_vm_flag(vm_flags_of(b.view().data()), "dd"));
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
