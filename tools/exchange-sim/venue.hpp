#pragma once
// What a simulated venue plugs into the exchange simulator. The simulator owns sockets, TLS, the WebSocket
// framing, pacing and fan-out; a venue owns everything its protocol decides:
//   - routing: which handshake targets exist and what each connection is subscribed to (VenueSession);
//   - the control plane: subscribe/unsubscribe requests and their replies (VenueSession);
//   - rendering: turning market events into the venue's frames and topics, at the venue's cadences
//     (VenueFeed);
//   - REST: answers to plain HTTP GET requests (book snapshots), rendered from the same market state as the
//     streams (VenueFeed::on_http_get), so a snapshot and the deltas around it chain exactly;
//   - replay: recognising which topic a recorded frame belongs to (Venue::read_recorded_frame).
//
// One simulator serves every venue at once on one TLS port: the first path segment names the venue, the rest
// is the venue's own path (`wss://127.0.0.1:PORT/<venue-id>/<venue path>`, `https://…/<venue-id>/<path>`).
// Register a venue in tools/exchange-sim/venues.cpp.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tools/exchange-sim/synthetic_market.hpp"

namespace sigflow::tools {

// The latency harness needs each frame's send time inside the frame. It is the time the generator's schedule
// handed the frame to the connection (ClientConnection::enqueue), not the time the socket accepted it: an
// engine that falls behind pushes back through TCP, and stamping at the socket would hide that wait
// (coordinated omission). The generator runs in 1 ms ticks, so frames leave in bursts of one tick. Renderers
// reserve a fixed-width slot: the decimal CLOCK_MONOTONIC ns value left-aligned and padded with spaces (JSON
// whitespace), so patching never moves any other byte.
inline constexpr std::string_view kSendStampKey = ",\"sim_ns\":";
inline constexpr std::size_t kSendStampWidth = 20;
inline constexpr std::size_t kNoSendStamp = static_cast<std::size_t>(-1);

// Appends `,"sim_ns":` and the blank slot; returns the slot's offset in `out`.
std::size_t append_send_stamp_slot(std::string& out);
// Writes `mono_ns` into a slot of kSendStampWidth bytes.
void write_send_stamp(char* slot, std::int64_t mono_ns);

// Where a feed puts rendered frames: the simulator's fan-out to subscribed connections.
class FrameSink {
 public:
  virtual ~FrameSink() = default;
  // Whether any connection is subscribed to `topic`; feeds skip rendering what nobody receives.
  virtual bool wanted(std::string_view topic) const = 0;
  // Sends `payload` to every connection subscribed to `topic`. `stamp_slot` is the offset of a send-stamp
  // slot in payload or kNoSendStamp. `book_delta` marks incremental book updates, the frames a gap fault
  // drops.
  virtual void emit(std::string_view topic, std::string_view payload, std::size_t stamp_slot,
                    bool book_delta) = 0;
};

// The answer to a REST request. Content-Length, Connection and Content-Type are added by the simulator.
struct HttpReply {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, e.g. a used-weight header
  std::string body;
};

// Renders one venue's streams from the synthetic market. Runs on the simulator's feed thread only.
class VenueFeed {
 public:
  virtual ~VenueFeed() = default;
  // A market event happened; render the real-time frames it causes (tickers, trades) and remember what the
  // interval streams (depth diffs) will need.
  virtual void on_event(const SyntheticMarket& market, const MarketEvent& event, std::int64_t wall_ms,
                        FrameSink& sink) = 0;
  // Time passed; render the interval streams that are due (partial depth, diffs, mark price).
  virtual void on_clock(SyntheticMarket& market, std::int64_t mono_ns, std::int64_t wall_ms,
                        FrameSink& sink) = 0;
  // A REST GET for `target` (the venue's path and query, e.g. "/fapi/v1/depth?symbol=BTCUSDT&limit=1000").
  // Runs on the feed thread between two market events, so a book snapshot is exactly the state after the
  // last delta already handed to the sink. nullopt: no such endpoint (the simulator answers 404).
  virtual std::optional<HttpReply> on_http_get(const SyntheticMarket& /*market*/, std::string_view /*target*/,
                                               std::int64_t /*wall_ms*/) {
    return std::nullopt;
  }
};

// A frame read from a capture, with its topic located so that each connection can be sent only what it
// subscribed to.
struct RecordedFrame {
  std::string text;             // the frame exactly as the venue sent it
  std::string topic;            // the topic a subscriber names to receive it
  std::size_t payload_pos = 0;  // the event inside the frame (for a combined-stream wrapper: its "data")
  std::size_t payload_len = 0;
  bool book_delta = false;
  double recv_s = 0;  // capture receive time, seconds
};

// One client connection's protocol state. Methods other than append_frame run on the connection's thread.
class VenueSession {
 public:
  virtual ~VenueSession() = default;
  // The topics this connection receives now. Topics that the venue accepts but does not serve on this route
  // (a stream requested on the wrong endpoint) are not listed: they silently get nothing, as on the venue.
  virtual std::vector<std::string> served_topics() const = 0;
  // Handles one text message from the client and returns the reply (empty: no reply).
  virtual std::string on_client_text(std::string_view text) = 0;
  // Appends the frame carrying `payload` of `topic` as this connection receives it; returns the payload's
  // offset within the appended bytes. Called from the feed thread, concurrently with the methods above.
  virtual std::size_t append_frame(std::string& out, std::string_view topic,
                                   std::string_view payload) const = 0;
  // Appends a recorded frame as this connection receives it (byte-exact when the shapes match).
  virtual void append_recorded_frame(std::string& out, const RecordedFrame& frame) const = 0;
};

class Venue {
 public:
  virtual ~Venue() = default;
  // The venue id in the engine's terms, e.g. "binance-usdm"; also the first path segment that routes to it.
  virtual std::string_view id() const = 0;
  // The venue's own symbols the random walk lists when the simulator's config names none for it. Empty: the
  // config's generic list (ExchangeSimConfig::symbols, else SIM0USDT, SIM1USDT, ...), which suits venues
  // whose symbols look like BTCUSDT.
  virtual std::vector<std::string> default_symbols() const { return {}; }
  // A session for an upgrade request target (path and query), or nullptr with the HTTP status to answer
  // instead (404: no such endpoint, 400: a malformed stream list).
  virtual std::unique_ptr<VenueSession> open_session(std::string_view target,
                                                     unsigned& reject_status) const = 0;
  virtual std::unique_ptr<VenueFeed> make_feed(const SyntheticMarket& market, bool stamp_send_ns) const = 0;
  // Locates the topic of a recorded frame; nullopt for frames this venue cannot attribute (not replayed).
  virtual std::optional<RecordedFrame> read_recorded_frame(std::string text, double recv_s) const = 0;
};

}  // namespace sigflow::tools
