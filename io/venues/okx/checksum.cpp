#include "io/venues/okx/checksum.hpp"

#include <algorithm>
#include <boost/crc.hpp>

namespace sigflow::io::okx {
namespace {

void process_decimal(boost::crc_32_type& crc, Decimal value) noexcept {
  char text[Decimal::kMaxChars];
  // kMaxChars always fits (decimal.hpp), so format cannot fail here.
  const char* end = value.format(text, text + sizeof text);
  crc.process_bytes(text, static_cast<std::size_t>(end - text));
}

void process_level(boost::crc_32_type& crc, const PriceLevel& level, bool& first) noexcept {
  if (!first) crc.process_byte(':');
  first = false;
  process_decimal(crc, level.price);
  crc.process_byte(':');
  process_decimal(crc, level.size);
}

}  // namespace

std::int32_t book_checksum(std::span<const PriceLevel> bids_best_first,
                           std::span<const PriceLevel> asks_best_first) noexcept {
  boost::crc_32_type crc;
  bool first = true;
  const std::size_t depth =
      std::min(kChecksumDepth, std::max(bids_best_first.size(), asks_best_first.size()));
  for (std::size_t i = 0; i < depth; ++i) {
    if (i < bids_best_first.size()) process_level(crc, bids_best_first[i], first);
    if (i < asks_best_first.size()) process_level(crc, asks_best_first[i], first);
  }
  return static_cast<std::int32_t>(crc.checksum());
}

}  // namespace sigflow::io::okx
