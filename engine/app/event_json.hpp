#pragma once
// Normalized market events as JSON lines: the output of `sigflow decode` (and later of replay tools).
// Prices and sizes are written as the venue's own decimal strings, never through a double.
#include <string>

#include "io/venues/market_event.hpp"

namespace sigflow::app {

// Appends the event as one JSON object and a '\n' to `out`.
void append_event_json(const io::MarketEvent& event, std::string& out);

}  // namespace sigflow::app
