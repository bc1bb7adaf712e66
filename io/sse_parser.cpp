#include "io/sse_parser.hpp"

#include <algorithm>

namespace sigflow::io {

SseParser::SseParser(std::size_t max_event_bytes) : max_event_bytes_(max_event_bytes) {
  // Chat-completion chunks are a few hundred bytes; reserving past that keeps the first events
  // allocation-free.
  const std::size_t initial = std::min<std::size_t>(max_event_bytes_, 4096);
  line_.reserve(initial);
  data_.reserve(initial);
  type_.reserve(64);
  id_.reserve(64);
}

void SseParser::reset() {
  line_.clear();
  data_.clear();
  type_.clear();
  id_.clear();
  retry_ms_ = -1;
  has_data_ = false;
  after_cr_ = false;
  dispatched_ = false;
  failed_ = false;
}

void SseParser::dispatch(SseEvent& event) {
  event.type = type_;
  event.data = data_;
  event.id = id_;
  event.done = std::string_view(data_).starts_with("[DONE]");
  has_data_ = false;
  dispatched_ = true;
}

bool SseParser::take_line(std::string_view line) {
  if (line.empty() || line.front() == ':') return true;  // blank lines are handled by the caller
  const std::size_t colon = line.find(':');
  std::string_view name = line.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (value.starts_with(' ')) value.remove_prefix(1);
  }
  if (name == "data") {
    const std::size_t grown = data_.size() + (has_data_ ? 1 : 0) + value.size();
    if (grown > max_event_bytes_) return false;
    if (has_data_) data_ += '\n';
    data_ += value;
    has_data_ = true;
  } else if (name == "event") {
    if (value.size() > max_event_bytes_) return false;
    type_.assign(value);
  } else if (name == "id") {
    // WHATWG: an id containing NUL is ignored, so it cannot smuggle a terminator into the reconnect header.
    if (value.find('\0') == std::string_view::npos) {
      if (value.size() > max_event_bytes_) return false;
      id_.assign(value);
    }
  } else if (name == "retry") {
    if (!value.empty() && value.size() <= 18 &&
        std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      std::int64_t ms = 0;
      for (char c : value) ms = ms * 10 + (c - '0');
      retry_ms_ = ms;
    }
  }
  return true;
}

SseResult SseParser::feed(std::string_view input, SseEvent& event) {
  SseResult result;
  if (failed_) {
    result.status = SseStatus::kEventTooLarge;
    return result;
  }
  if (dispatched_) {
    data_.clear();
    type_.clear();
    dispatched_ = false;
  }
  std::size_t pos = 0;
  while (pos < input.size()) {
    if (after_cr_) {
      after_cr_ = false;
      if (input[pos] == '\n') {
        ++pos;
        continue;
      }
    }
    const std::size_t end = input.find_first_of("\r\n", pos);
    if (end == std::string_view::npos) {
      if (line_.size() + (input.size() - pos) > max_event_bytes_) {
        failed_ = true;
        result.status = SseStatus::kEventTooLarge;
        result.consumed = input.size();
        return result;
      }
      line_.append(input.substr(pos));
      pos = input.size();
      break;
    }
    after_cr_ = input[end] == '\r';
    std::string_view line = input.substr(pos, end - pos);
    if (!line_.empty()) {
      if (line_.size() + line.size() > max_event_bytes_) {
        failed_ = true;
        result.status = SseStatus::kEventTooLarge;
        result.consumed = end + 1;
        return result;
      }
      line_.append(line);
      line = line_;
    }
    pos = end + 1;
    if (line.empty()) {
      if (has_data_) {
        dispatch(event);
        result.status = SseStatus::kEvent;
        result.consumed = pos;
        return result;
      }
      type_.clear();  // WHATWG: a blank line with no data discards the event type
      continue;
    }
    const bool ok = take_line(line);
    line_.clear();
    if (!ok) {
      failed_ = true;
      result.status = SseStatus::kEventTooLarge;
      result.consumed = pos;
      return result;
    }
  }
  result.consumed = pos;
  return result;
}

SseStatus SseParser::finish(SseEvent& event) {
  if (failed_) return SseStatus::kEventTooLarge;
  if (dispatched_) {
    data_.clear();
    type_.clear();
    dispatched_ = false;
  }
  if (!line_.empty()) {
    const bool ok = take_line(line_);
    line_.clear();
    if (!ok) {
      failed_ = true;
      return SseStatus::kEventTooLarge;
    }
  }
  if (!has_data_) return SseStatus::kNeedMore;
  dispatch(event);
  return SseStatus::kEvent;
}

}  // namespace sigflow::io
