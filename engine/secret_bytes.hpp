#pragma once
// SecretBytes: a credential (the inference API key, the "Bearer <key>" header value) held where a core dump
// or swap cannot reach it.
//
// The bytes live in their own anonymous mapping, never on the heap next to other data:
//  - madvise(MADV_DONTDUMP): the kernel leaves the pages out of any core dump the process writes;
//  - madvise(MADV_WIPEONFORK): a forked child sees zeros, not the key;
//  - mlock: the pages are never written to swap (best effort: RLIMIT_MEMLOCK may refuse; locked() says);
//  - explicit_bzero before munmap on destruction, so the bytes do not outlive the object in freed memory.
// Copies of a header value that the HTTP client makes while a request is on its way are not covered; the
// engine's `run` command therefore also turns core dumps off while it holds a key (see README, Security).
//
// Allocation happens at start-up only; it may throw std::system_error when the kernel refuses the mapping.
#include <cstddef>
#include <string>
#include <string_view>

namespace sigflow::engine {

class SecretBytes {
 public:
  SecretBytes() noexcept = default;
  explicit SecretBytes(std::string_view bytes);
  // prefix + bytes, joined in the protected page (a "Bearer " header value never exists anywhere else).
  SecretBytes(std::string_view prefix, std::string_view bytes);
  ~SecretBytes();
  SecretBytes(const SecretBytes& other);
  SecretBytes& operator=(const SecretBytes& other);
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;

  // Replaces the contents (the old bytes are wiped first).
  void assign(std::string_view bytes) { assign({}, bytes); }
  void assign(std::string_view prefix, std::string_view bytes);
  // Wipes and unmaps: empty() afterwards.
  void clear() noexcept;

  std::string_view view() const noexcept { return {data_, size_}; }
  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }
  // The page is excluded from core dumps (false only for an empty secret).
  bool dontdump() const noexcept { return data_ != nullptr; }
  // mlock succeeded: the page cannot be swapped out.
  bool locked() const noexcept { return locked_; }

 private:
  char* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t mapped_ = 0;
  bool locked_ = false;
};

// prctl(PR_SET_DUMPABLE, 0): the kernel writes no core dump of this process, and other processes of the same
// user can no longer read its memory (ptrace, /proc/<pid>/mem). `sigflow run` calls it before it reads an API
// key, because transient copies of the Authorization header (request buffers) are not in SecretBytes.
// Returns an empty string or why it failed.
std::string forbid_core_dumps();

}  // namespace sigflow::engine
