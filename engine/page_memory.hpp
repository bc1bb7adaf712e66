#pragma once
// Page-backed memory for the big long-lived buffers (FrameRing arenas): where they live decides how many
// TLB misses the hot path takes. A 32 MiB arena in 4 KiB pages needs 8192 TLB entries to stay resident;
// in 2 MiB pages it needs 16.
//
//   kDefault      operator new: what any allocation gets
//   kTransparent  anonymous mmap, 2 MiB aligned, madvise(MADV_HUGEPAGE): huge pages when THP can supply
//                 them (THP "madvise" or "always"), normal pages otherwise — never fails for lack of them
//   kReserved     mmap(MAP_HUGETLB) from the pool reserved in /proc/sys/vm/nr_hugepages: guaranteed huge
//                 pages, and an error at start when the pool is too small
//
// All modes return zeroed memory. Allocation happens once at start-up; it may throw.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace sigflow::engine {

enum class PageMode { kDefault, kTransparent, kReserved };

std::string_view to_string(PageMode mode) noexcept;  // "off", "transparent", "reserved"

struct PageRelease {
  std::size_t bytes = 0;  // 0: allocated with new[]
  void operator()(char* p) const noexcept;
};
using PageBuffer = std::unique_ptr<char[], PageRelease>;

// Throws std::system_error naming the mode and size when the kernel refuses (e.g. kReserved with too few
// reserved huge pages).
PageBuffer allocate_pages(std::size_t bytes, PageMode mode);

// mlockall(MCL_CURRENT | MCL_FUTURE): no page of the process is ever swapped out or lazily faulted in on the
// hot path. Returns an empty string or the reason it failed, with what to change.
std::string lock_all_memory();

}  // namespace sigflow::engine
