// `sigflow decode --venue V [FILE|-]`: raw frames, one per line, to normalized events as JSON lines.
#include <fstream>
#include <iostream>
#include <string>

#include "engine/app/commands.hpp"
#include "engine/app/event_json.hpp"
#include "engine/frame_ring.hpp"
#include "io/venues/binance/decoder.hpp"

namespace sigflow::app {

int run_decode(const DecodeOptions& options, std::istream& in, std::ostream& out, std::ostream& err) {
  if (options.venue != "binance-usdm" && options.venue != "binance") {
    err << "sigflow decode: unknown venue '" << options.venue << "' (supported: binance-usdm, binance)\n";
    return 2;
  }
  std::ifstream file;
  std::istream* input = &in;
  if (options.input != "-") {
    file.open(options.input);
    if (!file) {
      err << "sigflow decode: cannot read '" << options.input << "'\n";
      return 2;
    }
    input = &file;
  }

  io::binance::Decoder decoder;
  io::MarketEvent event;
  std::string frame;
  std::string json;
  std::uint64_t number = 0;
  std::uint64_t failures = 0;
  while (std::getline(*input, frame)) {
    ++number;
    if (!frame.empty() && frame.back() == '\r') frame.pop_back();
    if (frame.empty()) continue;
    const std::size_t length = frame.size();
    frame.append(engine::kFramePadding, '\0');  // the decoder's padding contract
    const io::binance::DecodeError error =
        decoder.decode_padded(std::string_view(frame.data(), length), 0, options.stream, event);
    if (error != io::binance::DecodeError::kNone) {
      ++failures;
      err << "frame " << number << ": " << io::binance::to_string(error) << ": " << decoder.error_message()
          << '\n';
      continue;
    }
    json.clear();
    append_event_json(event, json);
    out << json;
  }
  return failures ? 1 : 0;
}

}  // namespace sigflow::app
