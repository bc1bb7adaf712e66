#pragma once
// Every venue the exchange simulator can serve. Adding a venue is one line in venues.cpp.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tools/exchange-sim/venue.hpp"

namespace sigflow::tools {

// One instance of each registered venue, in registration order.
std::vector<std::unique_ptr<Venue>> make_sim_venues();

// The ids of make_sim_venues(), in the same order.
std::vector<std::string> sim_venue_ids();

}  // namespace sigflow::tools
