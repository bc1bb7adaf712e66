// libFuzzer: any bytes as a Deribit WebSocket frame, through the decoder and the feed thread's heartbeat
// check. Both must return an error value or events, never crash, read out of bounds or leave a malformed
// event (a book event whose level spans exceed what the frame could carry).
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "engine/frame_ring.hpp"
#include "io/venues/deribit/decoder.hpp"
#include "io/venues/deribit/protocol.hpp"

namespace {

class CheckingSink final : public sigflow::io::EventSink {
 public:
  std::size_t max_levels = 0;
  void on_event(const sigflow::io::MarketEvent& e) noexcept override {
    using sigflow::io::EventKind;
    if (e.kind == EventKind::kNone) std::abort();  // an event the decoder did not finish
    if (e.kind == EventKind::kBookSnapshot && (e.snapshot.bids.size() + e.snapshot.asks.size()) > max_levels)
      std::abort();
    if (e.kind == EventKind::kBookDelta && (e.delta.bids.size() + e.delta.asks.size()) > max_levels)
      std::abort();
    // Touch every level of a book event so that ASan sees a dangling span. Unsigned: fuzzed mantissas are as
    // large as a Decimal allows, and a signed sum of them overflows (UB).
    std::span<const sigflow::io::PriceLevel> bids;
    if (e.kind == EventKind::kBookDelta) bids = e.delta.bids;
    if (e.kind == EventKind::kBookSnapshot) bids = e.snapshot.bids;
    for (const auto& l : bids)
      sum += static_cast<std::uint64_t>(l.price.mantissa()) + static_cast<std::uint64_t>(l.size.mantissa());
  }
  std::uint64_t sum = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static sigflow::io::deribit::Decoder decoder;
  static std::string reply;
  CheckingSink sink;
  sink.max_levels = size / 2 + 1;  // a level needs at least "[1,1]"-ish bytes; this bound is loose but finite
  // The FrameRing's contract: kFramePadding readable bytes after the payload.
  std::string frame(reinterpret_cast<const char*>(data), size);
  frame.append(sigflow::engine::kFramePadding, '\0');
  const std::string_view payload(frame.data(), size);
  if (!decoder.decode(payload, 1, "", sink) && decoder.error_message().empty()) std::abort();
  sigflow::io::deribit::test_request_reply(payload, reply);
  return 0;
}
