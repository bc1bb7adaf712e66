// libFuzzer: any bytes as a capture file, line by line through the CaptureReader that `sigflow replay`
// uses, and every parsed record's address and URL through the venue and symbol helpers. A line either
// parses or gives an error message; nothing may crash, leak or read out of bounds.
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/app/capture_file.hpp"

static volatile std::size_t observed = 0;  // keeps the reads from being optimised away

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static sigflow::app::CaptureReader reader;
  sigflow::app::CaptureRecord record;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  while (!rest.empty()) {
    const std::size_t end = rest.find('\n');
    const std::string_view line = rest.substr(0, end);
    if (reader.parse(line, record).empty()) {
      // Views must stay readable until the next parse.
      std::size_t touched =
          record.conn.size() + record.data.size() + record.venue.size() + record.format.size();
      touched += sigflow::app::venue_of_cryptofeed(record.exchange, record.addr).size();
      touched += sigflow::app::depth_snapshot_symbol(record.url).size();
      observed = observed + touched;
    }
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  return 0;
}
