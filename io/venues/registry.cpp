// The market ids the engine knows, each with its wire decoder and its feed protocol. One line per market;
// each venue's folder provides the two factories.
#include <array>

#include "io/venues/binance/protocol.hpp"
#include "io/venues/binance/venue_decoder.hpp"
#include "io/venues/bybit/protocol.hpp"
#include "io/venues/deribit/decoder.hpp"
#include "io/venues/deribit/protocol.hpp"
#include "io/venues/okx/decoder.hpp"
#include "io/venues/okx/protocol.hpp"
#include "io/venues/venue_decoder.hpp"
#include "io/venues/venue_protocol.hpp"

namespace sigflow::io {
namespace {

struct VenueEntry {
  std::string_view id;
  const VenueProtocol& (*protocol)();
  std::unique_ptr<VenueDecoder> (*decoder)();
};

// VENUE ENTRIES: keep one line per market, in the order of DESIGN.md.
const std::vector<VenueEntry>& entries() {
  static const std::vector<VenueEntry> kEntries = {
      {"binance", &binance::spot_protocol, &binance::make_spot_decoder},
      {"binance-usdm", &binance::usdm_protocol, &binance::make_usdm_decoder},
      {"bybit-spot", &bybit_spot_protocol, &make_bybit_spot_decoder},
      {"bybit-linear", &bybit_linear_protocol, &make_bybit_linear_decoder},
      {"okx", &okx::okx_protocol, &okx::make_okx_decoder},
      {"deribit", &deribit::deribit_protocol, &deribit::make_deribit_decoder},
  };
  return kEntries;
}

}  // namespace

std::unique_ptr<VenueDecoder> make_decoder(std::string_view venue_id) {
  for (const VenueEntry& e : entries())
    if (e.id == venue_id) return e.decoder();
  return nullptr;
}

const VenueProtocol* find_protocol(std::string_view venue_id) {
  for (const VenueEntry& e : entries())
    if (e.id == venue_id) return &e.protocol();
  return nullptr;
}

std::span<const std::string_view> venue_ids() {
  static const std::vector<std::string_view> kIds = [] {
    std::vector<std::string_view> ids;
    for (const VenueEntry& e : entries()) ids.push_back(e.id);
    return ids;
  }();
  return kIds;
}

}  // namespace sigflow::io
