#pragma once
// Bybit v5 public market data, spot (`bybit-spot`, path /v5/public/spot) and linear perpetuals
// (`bybit-linear`, path /v5/public/linear), as the venue serves them (feeds.md §1.2, fixtures in
// tests/fixtures/bybit):
//   - the JSON control plane: {"op":"subscribe"|"unsubscribe","args":[..],"req_id":".."} answered with
//     {"success":true,"ret_msg":"" (linear) | "subscribe" (spot),"conn_id":..,"req_id":..,"op":..}, an
//     invalid topic with {"success":false,"ret_msg":"Invalid topic: <topic>",..}; {"op":"ping"} with the pong
//     reply of the category. Spot refuses more than 10 args in one request.
//   - orderbook.{1,50,200,1000}.{sym}: a snapshot when a connection subscribes, then deltas whose `u` goes up
//     by exactly one per frame and topic; orderbook.1 is snapshot-only and re-pushed after 3 s unchanged.
//   - publicTrade.{sym} (a `data` array), tickers.{sym} (linear: a snapshot on subscribe, then deltas with
//     only the changed fields; spot: snapshots), allLiquidation.{sym} on linear, occasionally.
//   - replay of cryptofeed captures (tests/fixtures/captures/BYBIT.jsonl), frames attributed to spot or
//     linear by the key order each category writes (see read_recorded_frame).
//
// Snapshot on subscribe. The simulator fans one rendered frame out to every subscriber of a topic, and the
// venue interface has no per-connection push, so the feed keeps the current snapshot text of every book
// (and linear ticker) topic that a fresh subscriber waits for, and the session sends that snapshot in place
// of the first frame of the topic it would have received. The snapshot is rendered for the same update id
// as the delta it replaces, so the deltas after it chain. The substitute keeps the delta's book_delta flag
// (the flag travels with the emit, not the text): a gap fault that hits it leaves that subscriber with deltas
// and no snapshot, which a client must treat as the gap it is and resubscribe.
#include <memory>

#include "tools/exchange-sim/venue.hpp"

namespace sigflow::tools {

namespace bybit_detail {
struct SnapshotBoard;
}

class Bybit final : public Venue {
 public:
  enum class Category { spot, linear };

  // Spot takes at most 10 args per subscribe request (bybit-exchange/docs v5/ws/connect).
  static constexpr std::size_t kSpotMaxArgsPerRequest = 10;

  explicit Bybit(Category category);
  ~Bybit() override;

  std::string_view id() const override;
  std::unique_ptr<VenueSession> open_session(std::string_view target, unsigned& reject_status) const override;
  // One feed per venue object: sessions of this venue take their snapshots from the feed made last.
  std::unique_ptr<VenueFeed> make_feed(const SyntheticMarket& market, bool stamp_send_ns) const override;
  std::optional<RecordedFrame> read_recorded_frame(std::string text, double recv_s) const override;

 private:
  Category category_;
  std::shared_ptr<bybit_detail::SnapshotBoard> board_;
};

}  // namespace sigflow::tools
