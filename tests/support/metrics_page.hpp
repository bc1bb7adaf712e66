#pragma once
// Reading the Prometheus page the way a scraper does: one blocking GET on loopback, then a sample's value.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

namespace sigflow::testing_support {

// The whole response to GET `target` on 127.0.0.1:`port` (the server closes after Connection: close).
inline std::string http_get(std::uint16_t port, const std::string& target) {
  std::string response;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval timeout{30, 0};  // a hang guard: the status thread may wait seconds for a core
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string request = "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    (void)!::write(fd, request.data(), request.size());
    char buf[65536];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) response.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return response;
}

// The value of the sample `series` (name and labels exactly as exported), or -1 when absent.
inline double sample(const std::string& page, const std::string& series) {
  const std::string key = "\n" + series + " ";
  const auto at = page.find(key);
  if (at == std::string::npos) return -1;
  return std::strtod(page.c_str() + at + key.size(), nullptr);
}

}  // namespace sigflow::testing_support
