// libFuzzer: any bytes as an OKX WebSocket frame. The decoder must return an error value or deliver
// well-formed events, never crash, read out of bounds or hand out a view outside the frame or its own
// buffers. Seeds: tests/fixtures/okx (tests/fuzz/run.sh).
#include <cstdint>
#include <string>

#include "engine/frame_ring.hpp"
#include "io/venues/okx/checksum.hpp"
#include "io/venues/okx/decoder.hpp"

namespace {

// Touches everything an event points at, so that ASan sees a dangling or out-of-range view, and runs the
// checksum over decoded levels (as the book sync does).
class TouchingSink final : public sigflow::io::EventSink {
 public:
  void on_event(const sigflow::io::MarketEvent& e) noexcept override {
    for (char c : e.symbol) sum_ += static_cast<unsigned char>(c);
    for (char c : e.stream) sum_ += static_cast<unsigned char>(c);
    for (char c : e.type_name) sum_ += static_cast<unsigned char>(c);
    if (e.kind == sigflow::io::EventKind::kVenueError)
      for (char c : e.error.message) sum_ += static_cast<unsigned char>(c);
    if (e.kind == sigflow::io::EventKind::kBookSnapshot)
      sum_ += static_cast<std::uint32_t>(sigflow::io::okx::book_checksum(e.snapshot.bids, e.snapshot.asks));
    if (e.kind == sigflow::io::EventKind::kBookDelta)
      sum_ += static_cast<std::uint32_t>(sigflow::io::okx::book_checksum(e.delta.bids, e.delta.asks));
  }
  std::uint32_t sum_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static sigflow::io::okx::Decoder decoder;
  static TouchingSink sink;
  // The FrameRing's contract: kFramePadding readable bytes after the payload.
  std::string frame(reinterpret_cast<const char*>(data), size);
  frame.append(sigflow::engine::kFramePadding, '\0');
  const std::string_view payload(frame.data(), size);
  if (!decoder.decode(payload, 1, {}, sink)) (void)decoder.error_message().size();
  return 0;
}
