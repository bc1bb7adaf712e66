#include "io/venues/binance/instrument_name.hpp"

#include <gtest/gtest.h>

namespace {

using sigflow::io::binance::Market;
using sigflow::io::binance::normalized_instrument;

TEST(BinanceInstrumentName, SplitsTheQuoteAsset) {
  EXPECT_EQ(normalized_instrument("BTCUSDT", Market::kUsdm), "BTC-USDT-PERP");
  EXPECT_EQ(normalized_instrument("KEEPUSDT", Market::kUsdm), "KEEP-USDT-PERP");
  EXPECT_EQ(normalized_instrument("ETHBTC", Market::kSpot), "ETH-BTC");
  EXPECT_EQ(normalized_instrument("RUNEEUR", Market::kSpot), "RUNE-EUR");
  EXPECT_EQ(normalized_instrument("BTCFDUSD", Market::kSpot), "BTC-FDUSD");
  EXPECT_EQ(normalized_instrument("SIM0USDT", Market::kUsdm), "SIM0-USDT-PERP");
}

TEST(BinanceInstrumentName, UnknownQuoteGivesEmpty) {
  EXPECT_EQ(normalized_instrument("XYZ", Market::kSpot), "");
  EXPECT_EQ(normalized_instrument("USDT", Market::kUsdm), "");  // a quote asset alone is not a pair
}

}  // namespace
