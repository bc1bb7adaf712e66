#pragma once
// The venues both the exchange simulator serves and the engine speaks, when the test runs: a venue that lands
// in tools/exchange-sim/venues.cpp and io/venues/registry.cpp is covered by the tests that iterate these.
#include <string>
#include <vector>

#include "io/venues/venue_protocol.hpp"
#include "tools/exchange-sim/venues.hpp"

namespace sigflow::testing_support {

inline std::vector<std::string> served_venues() {
  std::vector<std::string> ids;
  for (const std::string& id : tools::sim_venue_ids())
    if (io::find_protocol(id)) ids.push_back(id);
  return ids;
}

}  // namespace sigflow::testing_support
