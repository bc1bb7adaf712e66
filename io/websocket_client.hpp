#pragma once
// WebSocketClient: the client side of RFC 6455 as a sans-IO StreamProtocol, on wslay's event API.
//
// Every complete text or binary message goes into a FrameRing as one frame {connection id, receive time of
// the message's first frame, payload}. wslay runs with buffering off, so payload chunks are copied straight
// from wslay's read buffer into the ring. The ring may be shared by all connections of a feed thread and
// builds one frame at a time, so only a message that will be complete before on_bytes returns is built in
// place; one that straddles reads (or is fragmented) is gathered in a per-connection spill buffer and
// copied in when complete. The spill buffer grows to the largest such message and is reused: no allocation
// per data message. (wslay buffers control frames, at most 125 bytes each, with malloc; they are rare.)
// When the ring is full the message is dropped and counted, and the connection stays up: the owner watches
// `counters().drops` and resyncs what depends on the stream.
//
// wslay validates the UTF-8 of text messages byte by byte (RFC 6455 §8.1 requires it): about 2.4 ns per
// byte here, the largest cost of a text message; binary messages skip it.
//
// One thread drives a client (the feed thread); only counters() may be read from other threads.
//
// Pings from the server are answered by wslay with a pong carrying the same payload; a close from the
// server is answered with a close, after which finished() is true. Oversized messages are refused with
// close 1009: wslay checks each frame's declared length against the limit, and because with buffering off
// it cannot see a whole fragmented message, this class adds up the fragments itself.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/counter.hpp"
#include "engine/frame_ring.hpp"
#include "io/http_upgrade.hpp"
#include "io/stream_protocol.hpp"

struct wslay_event_context;

namespace sigflow::io {

struct WebSocketConfig {
  std::string host;          // Host header, with ":port" when not the scheme default
  std::string target = "/";  // path and query
  std::vector<std::pair<std::string, std::string>> extra_headers;
  std::string user_agent = "sigflow/0.1";
  std::uint32_t connection_id = 0;  // stamped on every frame put into the ring
  // Larger messages are refused with close 1009. Binance's largest (a depth snapshot over the socket) is
  // well under 1 MiB; 8 MiB leaves room without letting one message take the ring. Keep it below the
  // ring's arena size minus kFramePadding, or the largest messages can only ever be dropped.
  std::size_t max_message_bytes = 8u << 20;
  std::int64_t handshake_timeout_ns = 10'000'000'000;
  // 0: the client sends no pings of its own (venues that want JSON heartbeats get them via send_text).
  std::int64_t ping_interval_ns = 0;
  // No bytes at all for this long (not even a server ping) means the connection is dead: close it.
  // 0 disables. Binance pings every 3 min (USD-M) / 20 s (spot), so the owner sets this per venue.
  std::int64_t silence_timeout_ns = 0;
  // After we send a close, how long to wait for the server's close before giving up.
  std::int64_t close_timeout_ns = 5'000'000'000;
};

class WebSocketClient;

// Told when the upgrade completes, so that the owner can send its subscriptions. Runs inside on_bytes; what
// it queues with send_text is flushed before on_bytes returns.
class WebSocketOpenListener {
 public:
  virtual void on_websocket_open(WebSocketClient& client, std::int64_t now_ns) = 0;

 protected:
  ~WebSocketOpenListener() = default;
};

// Sees every complete data message on the feed thread right before it is published to the ring, in place (the
// ring's bytes or the spill buffer): no copy. For venue-demanded answers (Deribit test_request) and liveness
// bookkeeping; it must be cheap and must not block. A message the ring had no room for is seen as empty.
class WebSocketMessageObserver {
 public:
  virtual void on_websocket_message(WebSocketClient& client, std::string_view payload,
                                    std::int64_t recv_ns) noexcept = 0;

 protected:
  ~WebSocketMessageObserver() = default;
};

struct WebSocketCounters {
  engine::Counter messages;        // complete text/binary messages received (delivered or dropped)
  engine::Counter bytes;           // payload bytes of those messages
  engine::Counter drops;           // messages lost because the ring was full
  engine::Counter pings_answered;  // server pings seen (wslay queues the pong)
  engine::Counter pongs_received;
  engine::Counter protocol_errors;  // connections failed by a protocol error or a refused handshake
};

class WebSocketClient final : public StreamProtocol {
 public:
  enum class State {
    kIdle,         // no transport yet, or it closed
    kHandshaking,  // upgrade request sent, waiting for 101
    kOpen,
    kClosing,  // we sent a close, waiting for the server's
    kClosed,   // close handshake done
    kFailed,   // protocol error or timeout; last_error() says which
  };

  // `ring` receives the messages; it and `listener` (may be null) must outlive the client.
  WebSocketClient(WebSocketConfig config, engine::FrameRing& ring, WebSocketOpenListener* listener = nullptr);
  ~WebSocketClient() override;
  WebSocketClient(const WebSocketClient&) = delete;
  WebSocketClient& operator=(const WebSocketClient&) = delete;

  // StreamProtocol
  void on_transport_open(ByteSink& out, std::int64_t now_ns) override;
  bool on_bytes(std::string_view in, std::int64_t recv_ns, ByteSink& out) override;
  bool on_tick(std::int64_t now_ns, ByteSink& out) override;
  void on_transport_closed() override;
  bool finished() const override;
  std::string_view last_error() const override { return error_; }

  // Queues a text message (wslay copies it: sends are rare, subscriptions and heartbeats). It goes out on
  // the next flush: at the end of on_bytes / on_tick, or now with the overload that takes the sink.
  // Returns false when the connection is not open or the message cannot be queued.
  bool send_text(std::string_view text);
  bool send_text(std::string_view text, ByteSink& out);
  // Starts the close handshake (code 1000 = normal). The reason is cut to the 123 bytes a close allows.
  bool close(std::uint16_t code, std::string_view reason, ByteSink& out);
  // Writes whatever wslay has queued. Returns false when the transport should be closed.
  bool flush(ByteSink& out);

  // Null: none. Set before the transport opens.
  void set_message_observer(WebSocketMessageObserver* observer) noexcept { observer_ = observer; }

  State state() const noexcept { return state_; }
  const WebSocketCounters& counters() const noexcept { return counters_; }
  std::uint32_t connection_id() const noexcept { return config_.connection_id; }
  // When bytes last arrived: venue heartbeats keyed on silence (OKX: send "ping" after N s without data).
  std::int64_t last_receive_ns() const noexcept { return last_rx_ns_; }
  // Close codes of the last close handshake; 0 when none was sent / received.
  std::uint16_t close_code_sent() const noexcept { return close_code_sent_; }
  std::uint16_t close_code_received() const noexcept { return close_code_received_; }

 private:
  friend struct WslayCallbacks;

  bool open_websocket(std::int64_t now_ns, ByteSink& out);
  bool receive(std::string_view in, std::int64_t recv_ns, ByteSink& out);
  bool after_io(ByteSink& out);
  bool fail(std::string message);
  void free_context();

  // wslay callbacks
  std::ptrdiff_t read_input(std::uint8_t* buf, std::size_t len);
  std::ptrdiff_t write_output(const std::uint8_t* data, std::size_t len);
  int make_mask(std::uint8_t* buf, std::size_t len);
  void on_frame_start(bool fin, std::uint8_t opcode, std::uint64_t payload_length);
  void on_frame_chunk(const std::uint8_t* data, std::size_t len);
  void on_frame_end();

  WebSocketConfig config_;
  engine::FrameRing& ring_;
  WebSocketOpenListener* listener_;
  WebSocketMessageObserver* observer_ = nullptr;
  WebSocketCounters counters_;

  UpgradeHandshake handshake_;
  wslay_event_context* ctx_ = nullptr;
  State state_ = State::kIdle;
  std::string error_;

  // Per-call I/O: the bytes wslay may read and the sink it writes to, valid only inside on_bytes / flush.
  std::string_view input_;
  ByteSink* output_ = nullptr;
  std::int64_t input_recv_ns_ = 0;

  // The data message being received: frames are summed so that a fragmented message is held to the limit.
  std::uint8_t frame_opcode_ = 0;  // opcode of the frame being received (0 = continuation)
  bool frame_fin_ = false;
  bool in_message_ = false;
  bool message_rejected_ = false;  // oversized: its chunks are ignored while the close goes out
  bool spilling_ = false;          // the message is gathered in spill_, not built in the ring
  std::uint64_t message_bytes_ = 0;
  std::int64_t message_recv_ns_ = 0;
  std::string spill_;

  // Masking keys come from a pool filled by the CSPRNG, so a frame costs a copy, not an RNG call.
  std::unique_ptr<std::uint8_t[]> mask_pool_;
  std::size_t mask_pool_used_;

  std::int64_t opened_ns_ = 0;  // transport open; the handshake deadline counts from here
  std::int64_t last_rx_ns_ = 0;
  std::int64_t last_ping_ns_ = 0;
  std::int64_t close_sent_ns_ = 0;
  std::uint64_t ping_sequence_ = 0;
  std::uint16_t close_code_sent_ = 0;
  std::uint16_t close_code_received_ = 0;
};

}  // namespace sigflow::io
