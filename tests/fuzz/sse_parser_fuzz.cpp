// libFuzzer: any bytes as a text/event-stream body, cut into pieces where the fuzzer says, as the network
// cuts a stream anywhere (inside a CRLF, inside a field name). The parser must consume its input, hand out
// events whose views are readable, keep its bound on the event size and, after reset(), parse the same
// bytes fed whole to the same events as the pieces gave.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "io/sse_parser.hpp"

namespace {

// Every event seen, flattened, to compare the split run with the whole one.
void append_event(const sigflow::io::SseEvent& event, std::string& log) {
  log.append(event.type);
  log.push_back('\x1f');
  log.append(event.data);
  log.push_back('\x1f');
  log.append(event.id);
  log.push_back(event.done ? '1' : '0');
  log.push_back('\x1e');
}

// Feeds `input` in pieces of `piece` bytes (0: whole) and returns the flattened events; false on a bound hit.
bool run(sigflow::io::SseParser& parser, std::string_view input, std::size_t piece, std::size_t max_event,
         std::string& log) {
  parser.reset();
  sigflow::io::SseEvent event;
  while (!input.empty()) {
    const std::size_t n = piece == 0 ? input.size() : std::min(piece, input.size());
    std::string_view chunk = input.substr(0, n);
    input.remove_prefix(n);
    while (!chunk.empty()) {
      const sigflow::io::SseResult r = parser.feed(chunk, event);
      if (r.consumed > chunk.size()) std::abort();
      if (r.status == sigflow::io::SseStatus::kEventTooLarge) return false;
      if (r.status == sigflow::io::SseStatus::kNeedMore) {
        if (r.consumed != chunk.size()) std::abort();  // kNeedMore means every byte was taken
        break;
      }
      if (event.data.size() > max_event) std::abort();
      append_event(event, log);
      chunk.remove_prefix(r.consumed);
    }
  }
  if (parser.finish(event) == sigflow::io::SseStatus::kEvent) append_event(event, log);
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // A small bound, so that the fuzzer reaches it. Pieces: 1 to 16 bytes for a quarter of the inputs (splits
  // inside every CRLF and field name), 16 B to 4 KiB for the rest, as TLS records deliver a stream.
  constexpr std::size_t kMaxEvent = 512;
  static sigflow::io::SseParser parser(kMaxEvent);
  const std::size_t piece = data[0] < 64 ? 1 + data[0] % 16 : std::size_t{16} << (data[0] % 9);
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  static std::string split_log, whole_log;  // reused: their capacity stays, so no allocation per input
  split_log.clear();
  whole_log.clear();
  const bool split_ok = run(parser, input, piece, kMaxEvent, split_log);
  const bool whole_ok = run(parser, input, 0, kMaxEvent, whole_log);
  // Where a line ends cannot depend on how the bytes arrived, so neither can the events.
  if (split_ok && whole_ok && split_log != whole_log) std::abort();
  return 0;
}
