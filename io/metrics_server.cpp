#include "io/metrics_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <cerrno>
#include <cstring>
#include <optional>

namespace sigflow::io {

namespace http = boost::beast::http;

struct MetricsServer::Connection {
  // Member-function adapters (MemberCompletion) need the complete class; these forward instead.
  struct ReceiveHandler final : CompletionHandler {
    Connection& c;
    explicit ReceiveHandler(Connection& owner) : c(owner) {}
    void on_completion(const Completion& completion) override { c.on_receive(completion); }
  };
  struct SendHandler final : CompletionHandler {
    Connection& c;
    explicit SendHandler(Connection& owner) : c(owner) {}
    void on_completion(const Completion& completion) override { c.on_send(completion); }
  };
  struct IdleHandler final : TimerHandler {
    Connection& c;
    explicit IdleHandler(Connection& owner) : c(owner) {}
    void on_timer(std::int64_t) override { c.close(); }
  };

  explicit Connection(MetricsServer& owner) : server(owner), idle_timer(owner.loop_, idle_handler) {}

  MetricsServer& server;
  int fd = -1;
  bool receiving = false;
  bool sending = false;
  bool closing = false;
  bool close_after_send = false;
  std::optional<http::request_parser<http::empty_body>> parser;
  std::string in;       // received bytes not yet consumed by the parser
  std::string out;      // responses waiting for the send in flight to finish
  std::string on_wire;  // the bytes of the send in flight
  std::size_t sent = 0;
  ReceiveHandler receive_handler{*this};
  SendHandler send_handler{*this};
  IdleHandler idle_handler{*this};
  Timer idle_timer;

  bool in_use() const noexcept { return fd >= 0; }

  void open(int accepted_fd) {
    fd = accepted_fd;
    closing = close_after_send = false;
    in.clear();
    out.clear();
    new_parser();
    receiving = server.loop_.receive(fd, receive_handler);
    if (!receiving) {
      close();
      return;
    }
    idle_timer.arm_after(server.config_.idle_timeout_ns);
  }

  void new_parser() {
    parser.emplace();
    parser->header_limit(static_cast<std::uint32_t>(server.config_.max_request_bytes));
    parser->eager(true);
  }

  void on_receive(const Completion& c) {
    if (!c.more()) receiving = false;
    if (closing) return release_when_quiet();
    if (c.result <= 0) {
      if (c.result == -ENOBUFS && !receiving) {  // the buffer ring ran dry: ask again
        receiving = server.loop_.receive(fd, receive_handler);
        if (receiving) return;
      }
      return close();  // EOF or an error
    }
    idle_timer.arm_after(server.config_.idle_timeout_ns);
    if (in.size() + c.data.size() > server.config_.max_request_bytes) {
      server.counters_.bad_requests.add();
      server.respond(*this, 431, "Request Header Fields Too Large", false, false);
      return;
    }
    in.append(c.data);
    process();
    if (!receiving && !closing) {
      receiving = server.loop_.receive(fd, receive_handler);
      if (!receiving) close();
    }
  }

  // Answers every complete request in `in`, in order (pipelined requests are legal HTTP/1.1).
  void process() {
    while (!in.empty() && !close_after_send) {
      boost::beast::error_code ec;
      const std::size_t used = parser->put(boost::asio::buffer(in.data(), in.size()), ec);
      in.erase(0, used);
      if (ec == http::error::need_more) return;
      if (ec) {
        server.counters_.bad_requests.add();
        server.respond(*this, 400, "Bad Request", false, false);
        return;
      }
      if (!parser->is_done()) return;
      const auto& request = parser->get();
      const bool keep_alive = request.keep_alive();
      const bool head = request.method() == http::verb::head;
      if (request.method() != http::verb::get && !head) {
        server.counters_.bad_requests.add();
        server.respond(*this, 405, "Method Not Allowed", false, keep_alive);
      } else if (request.target() != "/metrics") {
        server.counters_.not_found.add();
        server.respond(*this, 404, "Not Found", head, keep_alive);
      } else {
        server.counters_.scrapes.add();
        server.respond(*this, 200, "OK", head, keep_alive);
      }
      new_parser();
    }
  }

  void flush() {
    if (sending || out.empty() || closing) return;
    on_wire.swap(out);
    out.clear();
    sent = 0;
    send_rest();
  }

  void send_rest() {
    sending = server.loop_.send(fd, on_wire.data() + sent, on_wire.size() - sent, send_handler);
    if (!sending) close();
  }

  void on_send(const Completion& c) {
    sending = false;
    if (closing) return release_when_quiet();
    if (c.result < 0) return close();
    sent += static_cast<std::size_t>(c.result);
    if (sent < on_wire.size()) return send_rest();
    if (!out.empty()) return flush();
    if (close_after_send) return close();
    process();  // requests that arrived while the answer was on the wire
  }

  void close() {
    if (fd < 0 || closing) return;
    closing = true;
    idle_timer.cancel();
    if (receiving || sending) server.loop_.cancel_all(fd);
    release_when_quiet();
  }

  // The fd is closed only once no operation can still complete on it: a recycled fd number must never
  // receive a stale completion.
  void release_when_quiet() {
    if (receiving || sending) return;
    ::close(fd);
    fd = -1;
    closing = false;
  }
};

MetricsServer::MetricsServer(EventLoop& loop, MetricsServerConfig config, Render render)
    : loop_(loop), config_(std::move(config)), render_(std::move(render)) {
  connections_.reserve(config_.max_connections);
  for (std::size_t i = 0; i < config_.max_connections; ++i)
    connections_.push_back(std::make_unique<Connection>(*this));
}

MetricsServer::~MetricsServer() {
  stop();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  // A destroyed server must not leave the loop with completions aimed at it: callers run the loop until
  // idle() after stop(). Whatever is left is closed here so that no fd leaks.
  for (auto& c : connections_)
    if (c->fd >= 0) ::close(c->fd);
}

bool MetricsServer::start(std::string& error) {
  const std::string where = config_.address + ":" + std::to_string(config_.port);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(config_.port);
  if (inet_pton(AF_INET, config_.address.c_str(), &addr.sin_addr) != 1) {
    error = where + ": not an IPv4 address";
    return false;
  }
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) {
    error = where + ": socket: " + std::strerror(errno);
    return false;
  }
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 16) != 0) {
    error = where + ": " + std::strerror(errno);
    ::close(listen_fd_);
    listen_fd_ = -1;
    return false;
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  accepting_ = true;
  arm_accept();
  return true;
}

void MetricsServer::stop() {
  accepting_ = false;
  if (accept_in_flight_) loop_.cancel_all(listen_fd_);
  for (auto& c : connections_) c->close();
}

bool MetricsServer::idle() const noexcept {
  if (accept_in_flight_) return false;
  for (const auto& c : connections_)
    if (c->in_use()) return false;
  return true;
}

void MetricsServer::arm_accept() {
  if (!accepting_ || accept_in_flight_) return;
  accept_in_flight_ = loop_.accept(listen_fd_, accept_handler_);
}

void MetricsServer::on_accept(const Completion& completion) {
  accept_in_flight_ = false;
  if (completion.result >= 0) {
    Connection* free_slot = nullptr;
    for (auto& c : connections_)
      if (!c->in_use()) {
        free_slot = c.get();
        break;
      }
    if (free_slot != nullptr && accepting_) {
      counters_.connections.add();
      free_slot->open(completion.result);
    } else {
      counters_.connections_refused.add();
      ::close(completion.result);
    }
  }
  arm_accept();
}

void MetricsServer::respond(Connection& c, unsigned status, std::string_view reason, bool head_only,
                            bool keep_alive) {
  std::string_view body;
  std::string_view content_type = "text/plain; charset=utf-8";
  if (status == 200) {
    body_.clear();
    render_(body_);
    body = body_;
    content_type = "text/plain; version=0.0.4; charset=utf-8";
  } else {
    body = reason;
  }
  std::string& out = c.out;
  out += "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out += reason;
  out += "\r\nContent-Type: ";
  out += content_type;
  if (status == 405) out += "\r\nAllow: GET, HEAD";
  out += "\r\nContent-Length: ";
  out += std::to_string(body.size());
  out += keep_alive ? "\r\nConnection: keep-alive\r\n\r\n" : "\r\nConnection: close\r\n\r\n";
  if (!head_only) out += body;
  if (!keep_alive) c.close_after_send = true;
  c.flush();
}

}  // namespace sigflow::io
