#pragma once
// A deterministic synthetic instrument universe for the prompt and tokenizer benchmarks: symbols in every
// venue's style and features spread over realistic ranges, so that prompt lines have the digits, signs and
// lengths of real ones.
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "strategies/features.hpp"

namespace sigflow::bench {

struct SyntheticUniverse {
  std::vector<std::string> symbols;  // owns the text the features' symbol views point to
  std::vector<strategies::InstrumentFeatures> features;
};

// `distinct_symbols`: 0 = every instrument has its own symbol; N = symbols repeat with period N.
inline SyntheticUniverse make_synthetic_universe(std::size_t n, std::size_t distinct_symbols = 0) {
  static const char* kVenues[] = {"binance", "binance-usdm", "bybit-spot", "bybit-linear", "okx", "deribit"};
  static const char* kBases[] = {"BTC",  "ETH", "SOL",  "1000PEPE", "UNI",
                                 "KEEP", "XRP", "DOGE", "ARB",      "LINK"};
  static const char* kQuotes[] = {"USDT", "-USD-SWAP", "-PERPETUAL", "USDC"};
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> unit(-1, 1);
  SyntheticUniverse u;
  u.symbols.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t suffix = distinct_symbols ? i % distinct_symbols : i;
    u.symbols.push_back(std::string(kBases[rng() % 10]) + kQuotes[rng() % 4] + std::to_string(suffix));
    strategies::InstrumentFeatures f;
    f.venue = kVenues[rng() % 6];
    f.mid = std::pow(10.0, unit(rng) * 5) * (1.5 + unit(rng));
    f.spread_bps = std::fabs(unit(rng)) * 20;
    f.microprice_offset_bps = unit(rng) * 3;
    f.imbalance_l1 = unit(rng);
    f.imbalance_l5 = unit(rng);
    f.imbalance_l20 = unit(rng);
    f.return_1s_bps = unit(rng) * 10;
    f.return_10s_bps = unit(rng) * 40;
    f.volume_10s = std::fabs(unit(rng)) * 5000;
    f.taker_buy_ratio_10s = std::fabs(unit(rng));
    if (rng() % 2) f.funding_rate = unit(rng) * 0.0005;
    if (rng() % 2) f.mark_offset_bps = unit(rng) * 4;
    f.data_age_ms = std::fabs(unit(rng)) * 400;
    f.book_valid = true;
    u.features.push_back(f);
  }
  for (std::size_t i = 0; i < n; ++i) u.features[i].symbol = u.symbols[i];
  return u;
}

}  // namespace sigflow::bench
