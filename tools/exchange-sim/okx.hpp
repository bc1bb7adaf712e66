#pragma once
// OKX v5 public WebSocket market data (market `okx`), as served on wss://ws.okx.com:8443/ws/v5/public
// (feeds.md §1.3): one endpoint for spot, swaps and futures, the JSON control plane
// {"id":..,"op":"subscribe"|"unsubscribe","args":[{"channel":..,"instId":..},..]}, and the text heartbeat
// `ping` → `pong`.
//
// Channels: books (a 400-level snapshot first, then 100 ms updates chained by seqId/prevSeqId with non-unit
// steps, and keep-alive updates with seqId == prevSeqId), trades, tickers, and for -SWAP instruments
// funding-rate and mark-price. Book checksums are 0, as OKX sends them since 2026-06-23, unless the venue is
// built with real CRC32 checksums (the legacy behaviour, for testing checksum validation).
//
// Simulator interface limits, kept visible here: a client message gets one reply frame, so a subscribe with
// several args is acknowledged by one frame (the ack of its first arg) where OKX sends one per arg; a new
// book subscriber receives its snapshot in place of the next update frame of that book (at most 100 ms).
#include <memory>

#include "tools/exchange-sim/venue.hpp"

namespace sigflow::tools {

struct OkxBoard;

class Okx final : public Venue {
 public:
  struct Options {
    bool checksums = false;  // CRC32 of the top 25 levels instead of 0
  };

  // OKX limits per connection (OKX WebSocket API docs, "Connection limit"): 480 subscribe/unsubscribe/login
  // requests per hour, args at most 64 KB per request.
  static constexpr std::size_t kMaxRequestsPerHour = 480;
  static constexpr std::size_t kMaxArgsBytes = 64 * 1024;

  Okx();
  explicit Okx(Options options);
  ~Okx() override;

  std::string_view id() const override { return "okx"; }
  std::vector<std::string> default_symbols() const override;
  std::unique_ptr<VenueSession> open_session(std::string_view target, unsigned& reject_status) const override;
  std::unique_ptr<VenueFeed> make_feed(const SyntheticMarket& market, bool stamp_send_ns) const override;
  std::optional<RecordedFrame> read_recorded_frame(std::string text, double recv_s) const override;

 private:
  Options options_;
  std::shared_ptr<OkxBoard> board_;
};

}  // namespace sigflow::tools
