#include "tools/exchange-sim/venues.hpp"

#include "tools/exchange-sim/binance_spot.hpp"
#include "tools/exchange-sim/binance_usdm.hpp"
#include "tools/exchange-sim/bybit.hpp"
#include "tools/exchange-sim/deribit.hpp"
#include "tools/exchange-sim/okx.hpp"

namespace sigflow::tools {

std::vector<std::unique_ptr<Venue>> make_sim_venues() {
  std::vector<std::unique_ptr<Venue>> venues;
  venues.push_back(std::make_unique<BinanceUsdm>());
  venues.push_back(std::make_unique<BinanceSpot>());
  venues.push_back(std::make_unique<Bybit>(Bybit::Category::spot));
  venues.push_back(std::make_unique<Bybit>(Bybit::Category::linear));
  venues.push_back(std::make_unique<Okx>());
  venues.push_back(std::make_unique<Deribit>());
  return venues;
}

std::vector<std::string> sim_venue_ids() {
  std::vector<std::string> ids;
  for (const auto& venue : make_sim_venues()) ids.emplace_back(venue->id());
  return ids;
}

}  // namespace sigflow::tools
