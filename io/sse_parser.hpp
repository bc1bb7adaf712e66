#pragma once
// SseParser: server-sent events (text/event-stream) from bytes split anywhere, without I/O.
//
// Decoding follows WHATWG's event-stream rules as openai-python's SSEDecoder applies them: lines end in
// CRLF, LF or CR; a line starting with ':' is a comment (OpenRouter's `: OPENROUTER PROCESSING`, llama.cpp's
// pings); a field is split at its first ':' and one leading space is dropped from the value; several `data:`
// lines join with '\n'; a blank line dispatches the event when data was seen; unknown fields are ignored.
// A data value starting with `[DONE]` marks the end of an OpenAI stream.
//
// Buffers are kept between events, so once they have grown to the largest event nothing allocates. The
// event size is bounded because the peer controls it: a line or data buffer past the bound is an error
// (sticky until reset()), not unbounded growth.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sigflow::io {

struct SseEvent {
  std::string_view type;  // the `event:` field, empty for the default "message"
  std::string_view data;  // `data:` lines joined with '\n'
  std::string_view id;    // the last `id:` seen on this stream (it persists across events)
  bool done = false;      // data starts with [DONE]
};

enum class SseStatus : std::uint8_t {
  kNeedMore,      // every byte consumed, no event complete
  kEvent,         // an event is complete; its views stay valid until the next call
  kEventTooLarge  // a line or the event's data passed max_event_bytes
};

struct SseResult {
  SseStatus status = SseStatus::kNeedMore;
  std::size_t consumed = 0;  // bytes of the input used; feed the rest again after an event
};

class SseParser {
 public:
  // 1 MiB holds a whole chat-completion chunk with room to spare; a stream needing more is broken.
  static constexpr std::size_t kDefaultMaxEventBytes = std::size_t{1} << 20;

  explicit SseParser(std::size_t max_event_bytes = kDefaultMaxEventBytes);

  // Consumes `input` up to the end of the next event (so the event's views are not overwritten).
  SseResult feed(std::string_view input, SseEvent& event);

  // At end of stream: dispatches pending data even without its blank line, as some llama.cpp builds end
  // `[DONE]` without one. Returns kEvent at most once.
  SseStatus finish(SseEvent& event);

  // Forgets all state (for a new stream); buffers keep their capacity.
  void reset();

  // The last valid `retry:` value in milliseconds, or -1 when none was sent.
  std::int64_t retry_ms() const noexcept { return retry_ms_; }

 private:
  bool take_line(std::string_view line);  // false when the event grows past the bound
  void dispatch(SseEvent& event);

  std::size_t max_event_bytes_;
  std::string line_;
  std::string data_;
  std::string type_;
  std::string id_;
  std::int64_t retry_ms_ = -1;
  bool has_data_ = false;
  bool after_cr_ = false;    // a CR ended the last line, so a following LF belongs to it
  bool dispatched_ = false;  // the previous call handed out views into data_/type_
  bool failed_ = false;
};

}  // namespace sigflow::io
