// libFuzzer: any bytes as the server's answer to a WebSocket upgrade request (Beast's response parser under
// our header/body limits), fed in two pieces, then the connection ends.
#include <cstdint>
#include <string>

#include "io/http_upgrade.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  sigflow::io::UpgradeHandshake handshake;
  sigflow::io::UpgradeRequest request;
  request.host = "fstream.binance.com";
  request.target = "/public/stream";
  handshake.start(request);
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t split = size / 2;
  if (handshake.feed(input.substr(0, split)) == sigflow::io::UpgradeHandshake::Status::kNeedMore &&
      handshake.feed(input.substr(split)) == sigflow::io::UpgradeHandshake::Status::kNeedMore)
    handshake.on_eof();
  return 0;
}
