#pragma once
// Binance symbols to sigflow's normalized instrument names: "BTCUSDT" on USD-M is "BTC-USDT-PERP", on spot
// "BTC-USDT". Binance symbols carry no separator, so the quote asset is recognised by its suffix, longest
// first (FDUSD before USD-anything, USDT before USD...).
#include <string>
#include <string_view>

namespace sigflow::io::binance {

enum class Market { kSpot, kUsdm };

// Returns an empty string when no known quote asset ends the symbol.
std::string normalized_instrument(std::string_view symbol, Market market);

}  // namespace sigflow::io::binance
