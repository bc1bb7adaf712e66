#pragma once
// OKX order-book checksum: CRC32 of the top 25 levels, as OKX v5 defined it for `books` channels.
//
// The string hashed is bidPx:bidSz:askPx:askSz for level 1, then level 2, ... up to level 25, joined with
// ':'; when one side has fewer levels the other side's levels simply follow (feeds.md §1.3, verified 290/290
// against the 2022 UNI-USD-SWAP capture). Prices and sizes enter as the venue's own text, which is why the
// levels are exact Decimals: Decimal::format gives back the identical string ("5.16" stays "5.16", "0.10"
// stays "0.10"), and a value parsed through double would not. The CRC is IEEE 802.3 CRC32 (zlib's), read as
// a signed int32 because that is how OKX prints it.
//
// Since 2026-06-23 OKX sends checksum 0 on JSON books; the decoder leaves the event's checksum empty then,
// and the book sync checks only the checksums the venue actually sends.
#include <cstddef>
#include <cstdint>
#include <span>

#include "io/venues/market_event.hpp"

namespace sigflow::io::okx {

// Levels that enter the checksum per side.
inline constexpr std::size_t kChecksumDepth = 25;

// Checksum of a book given best-first levels on each side (only the first kChecksumDepth of each are read).
// Allocation-free: each decimal is formatted into a stack buffer and streamed into the CRC.
std::int32_t book_checksum(std::span<const PriceLevel> bids_best_first,
                           std::span<const PriceLevel> asks_best_first) noexcept;

}  // namespace sigflow::io::okx
