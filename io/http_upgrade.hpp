#pragma once
// The client side of the RFC 6455 opening handshake: an HTTP/1.1 GET with `Upgrade: websocket`, and the
// validation of the server's answer. The response is parsed by Boost.Beast's parser (never by hand); only
// once per connection, so the allocations of Beast's field container are off the hot path.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace sigflow::io {

// base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")), RFC 6455 §4.2.2 step 5.4.
std::string websocket_accept_key(std::string_view key);

struct UpgradeRequest {
  std::string_view host;        // Host header value, with ":port" when the port is not the scheme default
  std::string_view target;      // path and query, e.g. "/stream?streams=btcusdt@depth@100ms"
  std::string_view user_agent;  // empty: no User-Agent header
  std::span<const std::pair<std::string, std::string>> extra_headers;
};

class UpgradeHandshake {
 public:
  enum class Status { kNeedMore, kUpgraded, kFailed };

  // Upgrade responses are a status line and a few headers; 16 KiB is generous and bounds what a hostile or
  // confused peer can make us buffer. Error bodies are read only for the message, so they are cut at 64 KiB.
  static constexpr std::uint32_t kHeaderLimit = 16 * 1024;
  static constexpr std::uint64_t kErrorBodyLimit = 64 * 1024;
  // How much of an error body goes into error(): enough for Binance's `{"code":-1003,"msg":"…"}`.
  static constexpr std::size_t kBodySnippet = 256;

  // Resets the handshake and returns the request bytes, with a fresh Sec-WebSocket-Key from the CSPRNG.
  // Returns an empty string (and error() says why) when the CSPRNG fails.
  std::string start(const UpgradeRequest& request);

  UpgradeHandshake();
  ~UpgradeHandshake();
  UpgradeHandshake(const UpgradeHandshake&) = delete;
  UpgradeHandshake& operator=(const UpgradeHandshake&) = delete;

  // Consumes response bytes. After kUpgraded, websocket_bytes() holds the bytes received after the response
  // header: they belong to the WebSocket stream. After kFailed, error() says why.
  Status feed(std::string_view in);

  // The transport closed before the response was complete: settles the error (a body delimited by EOF is
  // complete now) and returns kFailed.
  Status on_eof();

  std::string_view websocket_bytes() const noexcept { return websocket_bytes_; }
  std::string_view error() const noexcept { return error_; }
  Status status() const noexcept { return status_; }
  unsigned response_status() const noexcept { return response_status_; }

 private:
  Status fail(std::string message);
  Status check_upgrade();
  Status reject_with_body();

  struct Parser;  // Beast's response parser, kept out of this header
  std::unique_ptr<Parser> parser_;
  std::string expected_accept_;
  std::string buffer_;      // received bytes not yet consumed by the parser
  std::size_t parsed_ = 0;  // bytes of buffer_ the parser has consumed
  std::string_view websocket_bytes_;
  std::string error_;
  Status status_ = Status::kNeedMore;
  unsigned response_status_ = 0;
};

}  // namespace sigflow::io
