// libFuzzer: any bytes from the server after a valid upgrade, split at a fuzzer-chosen point. Frames, control
// frames, fragmentation, oversized and masked frames all go through wslay and the client's ring path.
#include <cstdint>
#include <string>

#include "engine/frame_ring.hpp"
#include "io/http_upgrade.hpp"
#include "io/websocket_client.hpp"

namespace {

struct StringSink final : sigflow::io::ByteSink {
  std::string bytes;
  void write(std::string_view b) override { bytes.append(b); }
};

std::string header_value(const std::string& request, std::string_view name) {
  const auto at = request.find(name);
  if (at == std::string::npos) return {};
  const auto start = at + name.size();
  return request.substr(start, request.find("\r\n", start) - start);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static sigflow::engine::FrameRing ring(1 << 20, 1024);
  sigflow::io::WebSocketConfig config;
  config.host = "127.0.0.1";
  config.max_message_bytes = 64 * 1024;
  sigflow::io::WebSocketClient client(config, ring);
  StringSink out;
  client.on_transport_open(out, 1);
  const std::string key = header_value(out.bytes, "Sec-WebSocket-Key: ");
  const std::string response =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
      "Upgrade\r\nSec-WebSocket-Accept: " +
      sigflow::io::websocket_accept_key(key) + "\r\n\r\n";
  if (!client.on_bytes(response, 2, out)) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t split = size ? data[0] % (size + 1) : 0;
  if (client.on_bytes(input.substr(0, split), 3, out)) client.on_bytes(input.substr(split), 4, out);
  client.on_tick(5, out);
  client.on_transport_closed();
  ring.consume([](const sigflow::engine::FrameView&) {});
  return 0;
}
