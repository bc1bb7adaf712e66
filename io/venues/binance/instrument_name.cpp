#include "io/venues/binance/instrument_name.hpp"

namespace sigflow::io::binance {
namespace {

// Quote assets Binance lists, longest first so that a suffix match picks the whole asset.
constexpr std::string_view kQuoteAssets[] = {"FDUSD", "USDT", "USDC", "BUSD", "TUSD", "BTC",
                                             "ETH",   "BNB",  "EUR",  "TRY",  "BRL",  "JPY"};

}  // namespace

std::string normalized_instrument(std::string_view symbol, Market market) {
  for (std::string_view quote : kQuoteAssets) {
    if (symbol.size() > quote.size() && symbol.substr(symbol.size() - quote.size()) == quote) {
      std::string name(symbol.substr(0, symbol.size() - quote.size()));
      name += '-';
      name += quote;
      if (market == Market::kUsdm) name += "-PERP";
      return name;
    }
  }
  return {};
}

}  // namespace sigflow::io::binance
