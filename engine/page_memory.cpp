#include "engine/page_memory.hpp"

#include <sys/mman.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

namespace sigflow::engine {
namespace {

constexpr std::size_t kHugePage = 2u << 20;

std::size_t round_to_huge(std::size_t n) noexcept {
  return (n + kHugePage - 1) / kHugePage * kHugePage;
}

}  // namespace

std::string_view to_string(PageMode mode) noexcept {
  switch (mode) {
    case PageMode::kDefault:
      return "off";
    case PageMode::kTransparent:
      return "transparent";
    case PageMode::kReserved:
      return "reserved";
  }
  return "invalid";
}

void PageRelease::operator()(char* p) const noexcept {
  if (bytes == 0) {
    delete[] p;
  } else {
    ::munmap(p, bytes);
  }
}

PageBuffer allocate_pages(std::size_t bytes, PageMode mode) {
  if (mode == PageMode::kDefault) return PageBuffer(new char[bytes](), PageRelease{0});
  const std::size_t length = round_to_huge(bytes);
  const int flags = MAP_PRIVATE | MAP_ANONYMOUS | (mode == PageMode::kReserved ? MAP_HUGETLB : 0);
  void* p = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, flags, -1, 0);
  if (p == MAP_FAILED) {
    const int error = errno;
    throw std::system_error(
        error, std::generic_category(),
        "cannot map " + std::to_string(length >> 20) + " MiB in " + std::string(to_string(mode)) +
            " huge pages" + (mode == PageMode::kReserved ? " (reserve them: sysctl vm.nr_hugepages=N)" : ""));
  }
  // Best effort: THP may be disabled ("never"), in which case the mapping simply keeps 4 KiB pages.
  if (mode == PageMode::kTransparent) ::madvise(p, length, MADV_HUGEPAGE);
  return PageBuffer(static_cast<char*>(p), PageRelease{length});
}

std::string lock_all_memory() {
  if (::mlockall(MCL_CURRENT | MCL_FUTURE) == 0) return {};
  const int error = errno;
  rlimit limit{};
  ::getrlimit(RLIMIT_MEMLOCK, &limit);
  const std::string allowed =
      limit.rlim_cur == RLIM_INFINITY ? "unlimited" : std::to_string(limit.rlim_cur >> 10) + " KiB";
  return std::string("mlockall failed: ") + std::strerror(error) + " (RLIMIT_MEMLOCK is " + allowed +
         "; raise it with `ulimit -l unlimited` or LimitMEMLOCK=infinity, or grant CAP_IPC_LOCK)";
}

}  // namespace sigflow::engine
