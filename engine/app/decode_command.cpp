// `sigflow decode --venue V [FILE|-]`: raw frames, one per line, to normalized events as JSON lines.
// Every market id the registry knows decodes here with the decoder the engine runs (io::make_decoder).
#include <fstream>
#include <iostream>
#include <string>

#include "engine/app/commands.hpp"
#include "engine/app/event_json.hpp"
#include "engine/frame_ring.hpp"
#include "io/venues/venue_decoder.hpp"
#include "io/venues/venue_protocol.hpp"

namespace sigflow::app {
namespace {

// A frame can carry several events (Bybit trade lists, OKX and Deribit arrays): one line each.
class EventPrinter final : public io::EventSink {
 public:
  explicit EventPrinter(std::ostream& out) : out_(out) {}
  void on_event(const io::MarketEvent& event) noexcept override {
    json_.clear();
    append_event_json(event, json_);
    out_ << json_;
  }

 private:
  std::ostream& out_;
  std::string json_;
};

}  // namespace

int run_decode(const DecodeOptions& options, std::istream& in, std::ostream& out, std::ostream& err) {
  const std::unique_ptr<io::VenueDecoder> decoder = io::make_decoder(options.venue);
  if (!decoder) {
    err << "sigflow decode: unknown venue '" << options.venue << "' (supported:";
    for (const std::string_view id : io::venue_ids()) err << ' ' << id;
    err << ")\n";
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

  EventPrinter printer(out);
  std::string frame;
  std::uint64_t number = 0;
  std::uint64_t failures = 0;
  while (std::getline(*input, frame)) {
    ++number;
    if (!frame.empty() && frame.back() == '\r') frame.pop_back();
    if (frame.empty()) continue;
    const std::size_t length = frame.size();
    frame.append(engine::kFramePadding, '\0');  // the decoder's padding contract
    if (!decoder->decode(std::string_view(frame.data(), length), 0, options.stream, printer)) {
      ++failures;
      err << "frame " << number << ": " << decoder->error_message() << '\n';
    }
  }
  return failures ? 1 : 0;
}

}  // namespace sigflow::app
