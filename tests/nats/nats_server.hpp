#pragma once
// A nats-server with JetStream for one test: 127.0.0.1 on a free port, its store in a fresh temp directory,
// killed (SIGKILL, like a crash) and restarted on the same port and store on demand.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

namespace sigflow::testing {

inline constexpr const char* kNatsServer = "/usr/sbin/nats-server";

inline bool nats_server_installed() {
  return ::access(kNatsServer, X_OK) == 0;
}

// A port nothing listens on right now (bound then released: a small race with other processes, accepted).
inline std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

inline bool port_open(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

class NatsServer {
 public:
  NatsServer() : port_(free_port()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sigflow-nats-XXXXXX").string();
    store_ = ::mkdtemp(tmpl.data()) ? tmpl : std::string();
  }
  ~NatsServer() {
    kill();
    std::error_code ec;
    if (!store_.empty()) std::filesystem::remove_all(store_, ec);
  }
  NatsServer(const NatsServer&) = delete;
  NatsServer& operator=(const NatsServer&) = delete;

  // Starts the server and waits (bounded) until it accepts connections.
  bool start() {
    const std::string port = std::to_string(port_);
    pid_ = ::fork();
    if (pid_ == 0) {
      const int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 1);
      ::dup2(null, 2);
      ::execl(kNatsServer, kNatsServer, "-js", "-a", "127.0.0.1", "-p", port.c_str(), "-sd", store_.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    if (pid_ < 0) return false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (port_open(port_)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  // SIGKILL: no graceful shutdown, as when a machine or process dies.
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  std::uint16_t port() const { return port_; }
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
  const std::string& store() const { return store_; }

 private:
  std::uint16_t port_;
  std::string store_;
  pid_t pid_ = -1;
};

// A fresh temporary directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sigflow-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data()) ? tmpl : std::string();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace sigflow::testing

// CI installs nats-server; a developer machine without it skips the NATS tests rather than failing them.
#define REQUIRE_NATS_SERVER() \
  if (!sigflow::testing::nats_server_installed()) GTEST_SKIP() << "nats-server not installed"
