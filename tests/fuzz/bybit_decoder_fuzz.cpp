// libFuzzer: any bytes as a Bybit WebSocket frame, and as the `data` of each topic the decoder knows (the
// input is spliced into a frame shell, so the fuzzer spends its time inside the per-topic readers rather than
// rediscovering the envelope). The decoder must return an error value or events, never crash, read out of
// bounds or emit an event whose spans exceed its storage.
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/frame_ring.hpp"
#include "io/venues/bybit/decoder.hpp"

namespace {

class CheckingSink final : public sigflow::io::EventSink {
 public:
  void on_event(const sigflow::io::MarketEvent& e) noexcept override {
    // Touch every level so that ASan sees a span pointing outside the decoder's storage.
    // Unsigned: fuzzed mantissas are as large as a Decimal allows, and a signed sum of them overflows (UB).
    std::uint64_t sum = 0;
    if (e.kind == sigflow::io::EventKind::kBookSnapshot) {
      for (const auto& l : e.snapshot.bids) sum += static_cast<std::uint64_t>(l.price.mantissa());
      for (const auto& l : e.snapshot.asks) sum += static_cast<std::uint64_t>(l.size.mantissa());
    } else if (e.kind == sigflow::io::EventKind::kBookDelta) {
      for (const auto& l : e.delta.bids) sum += static_cast<std::uint64_t>(l.price.mantissa());
      for (const auto& l : e.delta.asks) sum += static_cast<std::uint64_t>(l.size.mantissa());
    }
    for (char c : e.symbol) sum += static_cast<unsigned char>(c);
    for (char c : e.stream) sum += static_cast<unsigned char>(c);
    for (char c : e.error.message) sum += static_cast<unsigned char>(c);
    checksum += sum;
  }
  std::uint64_t checksum = 0;
};

void decode(sigflow::io::bybit::Decoder& decoder, std::string frame, CheckingSink& sink) {
  const std::size_t size = frame.size();
  frame.append(sigflow::engine::kFramePadding, '\0');
  decoder.decode(std::string_view(frame.data(), size), 1, {}, sink);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static sigflow::io::bybit::Decoder decoder(sigflow::io::bybit::DecoderLimits{64, 16});
  static CheckingSink sink;
  const std::string input(reinterpret_cast<const char*>(data), size);
  decode(decoder, input, sink);
  static constexpr std::string_view kShells[] = {
      R"({"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":)",
      R"({"topic":"orderbook.50.BTCUSDT","ts":1,"type":"snapshot","data":)",
      R"({"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":)",
      R"({"topic":"tickers.BTCUSDT","type":"delta","ts":1,"data":)",
      R"({"topic":"allLiquidation.BTCUSDT","type":"snapshot","ts":1,"data":)",
  };
  for (std::string_view shell : kShells) decode(decoder, std::string(shell) + input + "}", sink);
  // `data` before `topic`: the second-pass path.
  decode(decoder, R"({"data":)" + input + R"(,"topic":"orderbook.50.BTCUSDT","type":"delta"})", sink);
  return 0;
}
