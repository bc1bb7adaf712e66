#pragma once
// MetricsServer: the Prometheus scrape endpoint (`GET /metrics`), served on an io_uring EventLoop.
//
// It runs on the engine's status thread, never on a feed or strategy thread: rendering the exposition text
// walks every registered series and allocates, which is fine once per scrape on a thread with nothing hot
// on it, and would be jitter anywhere else. Requests are parsed with Boost.Beast's request parser; only
// GET (and HEAD) of the one path are answered, everything else gets the right 4xx and the connection keeps
// working. The listener binds to 127.0.0.1 unless the configuration names another address: metrics reveal
// positions of interest and must not be world-readable by accident.
//
// Connections are bounded (a fixed table; an accept beyond it is closed at once and counted), each has an
// idle timeout and a request size limit, and a malformed request is answered 400 and closed.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/counter.hpp"
#include "io/event_loop.hpp"

namespace sigflow::io {

struct MetricsServerConfig {
  std::string address = "127.0.0.1";  // IPv4 address to bind
  std::uint16_t port = 9464;          // 0: an ephemeral port (tests), see port()
  std::size_t max_connections = 8;
  std::int64_t idle_timeout_ns = 30'000'000'000;
  std::size_t max_request_bytes = 8192;
};

struct MetricsServerCounters {
  engine::Counter scrapes;              // 200 answers to GET /metrics
  engine::Counter not_found;            // other paths
  engine::Counter bad_requests;         // malformed or oversized requests, wrong methods
  engine::Counter connections;          // accepted and served
  engine::Counter connections_refused;  // accepted beyond max_connections and closed at once
};

class MetricsServer {
 public:
  // Appends the exposition text to `out` (cleared by the server before the call).
  using Render = std::function<void(std::string& out)>;

  // loop must outlive the server; every call on the loop's thread.
  MetricsServer(EventLoop& loop, MetricsServerConfig config, Render render);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Binds, listens and starts accepting. False with `error` naming the address ("127.0.0.1:9464: Address
  // already in use").
  bool start(std::string& error);
  // Stops accepting and closes every connection; operations still in flight complete on the loop later, so
  // run the loop until idle() before destroying the server.
  void stop();
  bool idle() const noexcept;

  std::uint16_t port() const noexcept { return port_; }
  const MetricsServerCounters& counters() const noexcept { return counters_; }

 private:
  struct Connection;
  void on_accept(const Completion& completion);
  void arm_accept();
  void respond(Connection& c, unsigned status, std::string_view reason, bool head_only, bool keep_alive);

  EventLoop& loop_;
  MetricsServerConfig config_;
  Render render_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  bool accepting_ = false;
  bool accept_in_flight_ = false;
  MemberCompletion<MetricsServer, &MetricsServer::on_accept> accept_handler_{*this};
  std::vector<std::unique_ptr<Connection>> connections_;
  std::string body_;  // the rendered text, reused across scrapes
  MetricsServerCounters counters_;

  friend struct Connection;
};

}  // namespace sigflow::io
