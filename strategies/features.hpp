#pragma once
// InstrumentFeatures: what the strategy knows about one instrument at a cycle, in the units the local model
// and the prompt builder both use. Built from instrument state once per cycle; read-only afterwards.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string_view>

namespace sigflow::strategies {

inline constexpr double kAbsent = std::numeric_limits<double>::quiet_NaN();

struct InstrumentFeatures {
  std::string_view venue;       // market id: "binance-usdm"
  std::string_view symbol;      // venue's symbol: "BTCUSDT"
  std::string_view instrument;  // normalized: "BTC-USDT-PERP"

  double mid = kAbsent;                    // (best bid + best ask) / 2
  double spread_bps = kAbsent;             // (ask - bid) / mid * 1e4
  double microprice_offset_bps = kAbsent;  // (size-weighted microprice - mid) / mid * 1e4
  double imbalance_l1 = kAbsent;           // (bid qty - ask qty) / (bid qty + ask qty), top level, in [-1, 1]
  double imbalance_l5 = kAbsent;           // same over the top 5 levels
  double imbalance_l20 = kAbsent;          // same over the top 20 levels
  double return_1s_bps = kAbsent;          // mid return over the last second
  double return_10s_bps = kAbsent;         // mid return over the last 10 seconds
  double volume_10s = 0;                   // traded base quantity in the last 10 s
  double taker_buy_ratio_10s = kAbsent;    // buyer-initiated share of that volume, in [0, 1]
  double funding_rate = kAbsent;           // current funding rate (fraction), perps only
  double mark_offset_bps = kAbsent;        // (mark - mid) / mid * 1e4, where a mark price exists
  double data_age_ms = kAbsent;            // now - last market update for this instrument
  double change_score = 0;                 // how much the state moved since the last prompt (for priority)
  bool book_valid = false;                 // book synced and not crossed
};

}  // namespace sigflow::strategies
