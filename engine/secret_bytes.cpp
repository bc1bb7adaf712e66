#include "engine/secret_bytes.hpp"

#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

namespace sigflow::engine {

SecretBytes::SecretBytes(std::string_view bytes) {
  assign(bytes);
}

SecretBytes::SecretBytes(std::string_view prefix, std::string_view bytes) {
  assign(prefix, bytes);
}

SecretBytes::~SecretBytes() {
  clear();
}

SecretBytes::SecretBytes(const SecretBytes& other) {
  assign(other.view());
}

SecretBytes& SecretBytes::operator=(const SecretBytes& other) {
  if (this != &other) assign(other.view());
  return *this;
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapped_(std::exchange(other.mapped_, 0)),
      locked_(std::exchange(other.locked_, false)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    clear();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapped_ = std::exchange(other.mapped_, 0);
    locked_ = std::exchange(other.locked_, false);
  }
  return *this;
}

void SecretBytes::assign(std::string_view prefix, std::string_view bytes) {
  clear();
  const std::size_t total = prefix.size() + bytes.size();
  if (total == 0) return;
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t length = (total + page - 1) / page * page;
  void* p = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "SecretBytes: mmap");
  // Marked before the first byte is written, so no dump can ever hold the key.
  if (::madvise(p, length, MADV_DONTDUMP) != 0) {
    const int error = errno;
    ::munmap(p, length);
    throw std::system_error(error, std::generic_category(), "SecretBytes: madvise(MADV_DONTDUMP)");
  }
  (void)::madvise(p, length, MADV_WIPEONFORK);  // Linux 4.14+; older kernels: the child keeps a copy
  locked_ = ::mlock(p, length) == 0;
  data_ = static_cast<char*>(p);
  mapped_ = length;
  size_ = total;
  if (!prefix.empty()) std::memcpy(data_, prefix.data(), prefix.size());
  if (!bytes.empty()) std::memcpy(data_ + prefix.size(), bytes.data(), bytes.size());
}

void SecretBytes::clear() noexcept {
  if (data_ == nullptr) return;
  ::explicit_bzero(data_, mapped_);
  if (locked_) ::munlock(data_, mapped_);
  ::munmap(data_, mapped_);
  data_ = nullptr;
  size_ = mapped_ = 0;
  locked_ = false;
}

std::string forbid_core_dumps() {
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
    return std::string("prctl(PR_SET_DUMPABLE): ") + std::strerror(errno);
  return {};
}

}  // namespace sigflow::engine
