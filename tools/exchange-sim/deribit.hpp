#pragma once
// Deribit JSON-RPC 2.0 public market data (`deribit`, path /ws/api/v2), as the venue serves it (feeds.md
// §1.4, fixtures in tests/fixtures/deribit):
//   - the control plane: public/subscribe and public/unsubscribe ({"channels":[..]}, answered with the list
//   of
//     channels in `result` plus usIn/usOut/usDiff), public/unsubscribe_all, public/set_heartbeat
//     ({"interval":N}, N ≥ 10 s), public/test; unknown methods, malformed requests, unknown channels and
//     `raw` channels (which need an authorized connection) get JSON-RPC errors {"code":..,"message":..}.
//   - book.{inst}.100ms: a snapshot (type "snapshot", change_id) when a connection subscribes, then changes
//     with [action, price, amount] levels and prev_change_id = the previous frame's change_id.
//   - trades.{inst}.100ms (a `data` array gathered over 100 ms; some fills carry `liquidation` "T", "M" or
//     "MT"), ticker.{inst}.100ms (mark, index, funding, best bid/ask), quote.{inst} (best bid/ask on change).
//   - heartbeats: after public/set_heartbeat the connection receives {"method":"heartbeat","params":{"type":
//     "test_request"}} every interval. The venue closes a connection that does not call public/test before
//     the next one; the session records each test_request sent, answered and missed (HeartbeatRecord), and
//     sets close_requested() on a miss.
//   - replay of cryptofeed captures (tests/fixtures/captures/DERIBIT.jsonl): the recorded `raw` channels
//     (cryptofeed was authorized) are renamed to the 100ms channels an unauthorized client can subscribe to.
//
// How the venue interface is used for what it has no hook for:
//   Snapshot on subscribe. One rendered frame fans out to every subscriber of a topic, so the feed keeps the
//   snapshot of a book topic that a fresh subscriber waits for, rendered at the change_id of the change it
//   goes out with, and the waiting session sends it in place of that change (as tools/exchange-sim/bybit
//   does); later changes chain from it.
//   Timed test_requests. A session that set a heartbeat interval of N s subscribes itself to the internal
//   topic "heartbeat.N", which the feed renders every N s of its clock.
//   Disconnecting a client that missed a test_request needs a hook the interface lacks (see the report of
//   this venue: VenueSession::close_requested(), polled by the connection after each batch); until then the
//   miss is recorded and the session flags it.
#include <cstdint>
#include <memory>

#include "tools/exchange-sim/venue.hpp"

namespace sigflow::tools {

namespace deribit_detail {
struct SnapshotBoard;
}

// What a session's heartbeat exchange looked like so far.
struct HeartbeatRecord {
  std::uint64_t requests_sent = 0;  // test_requests appended to the connection
  std::uint64_t answered = 0;       // public/test calls that answered an outstanding test_request
  std::uint64_t missed = 0;         // test_requests the next one found still unanswered
};

class Deribit final : public Venue {
 public:
  // The venue's floor for public/set_heartbeat. Tests may lower it to keep their waits short.
  static constexpr int kMinHeartbeatIntervalS = 10;
  static constexpr int kMaxHeartbeatIntervalS = 3600;

  explicit Deribit(int min_heartbeat_interval_s = kMinHeartbeatIntervalS);
  ~Deribit() override;

  std::string_view id() const override { return "deribit"; }
  std::vector<std::string> default_symbols() const override { return {"BTC-PERPETUAL", "ETH-PERPETUAL"}; }
  std::unique_ptr<VenueSession> open_session(std::string_view target, unsigned& reject_status) const override;
  // One feed per venue object: sessions of this venue take their snapshots from the feed made last.
  std::unique_ptr<VenueFeed> make_feed(const SyntheticMarket& market, bool stamp_send_ns) const override;
  std::optional<RecordedFrame> read_recorded_frame(std::string text, double recv_s) const override;

  // The heartbeat record and close flag of a session this venue opened (nullopt / false for other sessions).
  static std::optional<HeartbeatRecord> heartbeat_record(const VenueSession& session);
  static bool close_requested(const VenueSession& session);

 private:
  int min_heartbeat_interval_s_;
  std::shared_ptr<deribit_detail::SnapshotBoard> board_;
};

}  // namespace sigflow::tools
