#pragma once
// `sigflow replay --capture FILE [--summary]`: a recorded session through the live decode and book code.
#include <cstdint>
#include <iosfwd>
#include <string>

namespace sigflow::app {

struct ReplayOptions {
  std::string capture;   // cryptofeed raw capture or sigflow capture (engine/app/capture_file.hpp)
  bool summary = false;  // one JSON line per instrument at the end instead of the signals
  std::int64_t cycle_ns = 50'000'000;
  std::size_t book_capacity = 5'000;  // deep enough for a 5000-level spot snapshot: summaries count levels
};

// Exit status: 0 when every record was read and every frame decoded; 1 when some line was not a capture
// record, some frame did not decode or some venue had no decoder (each said once on `err`, the replay goes
// on); 2 when the capture cannot be read or holds no replayable frame.
int run_replay(const ReplayOptions& options, std::ostream& out, std::ostream& err);

}  // namespace sigflow::app
