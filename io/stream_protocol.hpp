#pragma once
// The seam between a transport (TCP + TLS on an io_uring loop) and the protocol spoken over it (WebSocket,
// HTTP/1.1). Protocols are sans-IO: they consume plaintext and write plaintext into a ByteSink, so they can
// be tested without sockets and reused on any transport.
#include <cstdint>
#include <string_view>

namespace sigflow::io {

// Where a protocol puts bytes it wants sent. The transport encrypts and queues them; write never blocks.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual void write(std::string_view bytes) = 0;
};

class StreamProtocol {
 public:
  virtual ~StreamProtocol() = default;
  // The transport is connected (TLS handshake done). Write the opening bytes, e.g. the HTTP upgrade.
  virtual void on_transport_open(ByteSink& out, std::int64_t now_ns) = 0;
  // Plaintext arrived at recv_ns. Returns false on a protocol error: the transport then closes and
  // last_error() says why.
  virtual bool on_bytes(std::string_view in, std::int64_t recv_ns, ByteSink& out) = 0;
  // Called by the transport's timer (heartbeats, liveness, handshake timeouts). Returns false to close.
  virtual bool on_tick(std::int64_t now_ns, ByteSink& out) = 0;
  // The transport is gone (closed by either side or failed). The protocol resets for a new connection.
  virtual void on_transport_closed() = 0;
  // True once the protocol has finished (close handshake done): the transport may shut down.
  virtual bool finished() const = 0;
  virtual std::string_view last_error() const = 0;
};

}  // namespace sigflow::io
