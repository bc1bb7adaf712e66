// libFuzzer: any bytes as a Binance WebSocket frame (combined or raw, with and without a stream hint) and as
// a REST depth body. The decoder must return an error value or an event, never crash or read out of bounds.
#include <cstdint>
#include <string>

#include "engine/frame_ring.hpp"
#include "io/venues/binance/decoder.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static sigflow::io::binance::Decoder decoder;
  static sigflow::io::MarketEvent event;
  // The FrameRing's contract: kFramePadding readable bytes after the payload.
  std::string frame(reinterpret_cast<const char*>(data), size);
  frame.append(sigflow::engine::kFramePadding, '\0');
  const std::string_view payload(frame.data(), size);
  decoder.decode_padded(payload, 1, "", event);
  decoder.decode_padded(payload, 1, "btcusdt@depth20@100ms", event);
  decoder.decode_padded(payload, 1, "btcusdt@depth@100ms", event);
  decoder.decode_rest_depth(payload, "BTCUSDT", 1, event);
  return 0;
}
