#pragma once
// Deribit instrument names to sigflow's normalized names (DESIGN.md: `instrument` is the normalized name).
//
//   BTC-PERPETUAL        → BTC-USD-PERP   inverse perpetual: quoted and sized in USD, margined and settled
//                                         in BTC (the "USD" is the quote, not the settlement currency)
//   SOL_USDC-PERPETUAL   → SOL-USDC-PERP  linear USDC-margined perpetual
//   BTC-27DEC24          → BTC-USD-27DEC24        inverse future: expiry kept in Deribit's own DMMMYY form
//   BTC_USDC-27DEC24     → BTC-USDC-27DEC24       linear future
//   BTC-24SEP21-34000-P  → BTC-USD-24SEP21-34000-P   option: expiry, strike (Deribit's "d" decimal point
//                                                    kept, e.g. 0d625) and C/P as the venue writes them
// Expiries stay in the venue's form rather than being converted to dates: the name is a key for joining
// with the venue's own reference data, and a reformatted date adds a way to get it wrong.
#include <string>
#include <string_view>

namespace sigflow::io::deribit {

// Empty when the name is not a Deribit instrument name of one of the forms above.
std::string normalized_instrument(std::string_view name);

}  // namespace sigflow::io::deribit
