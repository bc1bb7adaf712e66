// libFuzzer: any bytes as what a scraper sends to the metrics endpoint, over a real loopback connection to
// an io::MetricsServer on this thread's EventLoop (the request parsing lives in the server's connection:
// Beast's request_parser, the size limit, pipelining). The first byte picks where the bytes are cut into
// two sends. After the client half-closes, the server must answer only with HTTP responses and close the
// connection; it must never crash, hang or leak a connection.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "io/event_loop.hpp"
#include "io/metrics_server.hpp"

namespace {

constexpr std::int64_t kCloseTimeoutNs = 5'000'000'000;

struct Endpoint {
  Endpoint() {
    sigflow::io::MetricsServerConfig config;
    config.port = 0;
    config.max_request_bytes = 1024;  // small, so that the fuzzer reaches the limit
    server = std::make_unique<sigflow::io::MetricsServer>(loop, config, [](std::string& out) {
      out += "# TYPE sigflow_fuzz_total counter\nsigflow_fuzz_total 1\n";
    });
    std::string error;
    if (!server->start(error)) std::abort();
  }
  sigflow::io::EventLoop loop;
  std::unique_ptr<sigflow::io::MetricsServer> server;
};

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) return false;  // the server already closed (400, 431): fine
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Loopback socket buffers hold far more than this, so the blocking sends below never wait on the loop.
  if (size == 0 || size > 16384) return 0;
  static Endpoint endpoint;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::size_t split = data[0] % (input.size() + 1);

  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(endpoint.server->port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) std::abort();
  if (send_all(fd, input.substr(0, split))) {
    endpoint.loop.run_once(0);  // the server may see the first part on its own
    send_all(fd, input.substr(split));
  }
  ::shutdown(fd, SHUT_WR);

  std::string received;
  bool closed = false;
  const bool done = endpoint.loop.run_until(
      [&] {
        char chunk[4096];
        while (true) {
          const ssize_t n = ::recv(fd, chunk, sizeof chunk, MSG_DONTWAIT);
          if (n > 0) {
            received.append(chunk, static_cast<std::size_t>(n));
            continue;
          }
          if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) closed = true;
          return closed;
        }
      },
      kCloseTimeoutNs);
  ::close(fd);
  if (!done) std::abort();  // the server kept a half-closed connection open
  if (!received.empty() && received.rfind("HTTP/1.1 ", 0) != 0) std::abort();
  return 0;
}
