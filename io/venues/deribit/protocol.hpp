#pragma once
// The feed protocol of Deribit (`deribit`): JSON-RPC 2.0 over one WebSocket endpoint (feeds.md §1.4).
//
// Each instrument subscribes to three public channels at the 100ms interval — `book.{inst}.100ms`,
// `trades.{inst}.100ms`, `ticker.{inst}.100ms`; the `raw` interval needs an authorized connection. After
// the upgrade the connection calls public/set_heartbeat; the venue then sends `test_request` heartbeats and
// closes the connection when one is not answered with public/test, which reply_to() provides. A book is
// re-synced by unsubscribing and subscribing its channel again: the first notification after a subscribe is
// a full snapshot carrying the change_id the following changes chain from.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "io/venues/venue_protocol.hpp"

namespace sigflow::io::deribit {

inline constexpr std::string_view kStreamUrl = "wss://www.deribit.com/ws/api/v2";

// public/set_heartbeat interval, seconds. The venue accepts ≥ 10; 30 is nautilus' default and keeps the
// heartbeat traffic (one test_request and one public/test per interval) negligible against the credit pool.
inline constexpr int kHeartbeatIntervalS = 30;

// Request ids the protocol uses without a counter: the set_heartbeat call on open, and every public/test
// answer (reply_to() is stateless). Subscribe requests count up from kFirstSubscribeId, far below these.
inline constexpr std::uint64_t kSetHeartbeatId = 9'000'000'001;
inline constexpr std::uint64_t kTestReplyId = 9'000'000'002;
inline constexpr std::uint64_t kFirstSubscribeId = 1;

// Channels per subscribe request and per connection. Deribit states no channel cap per connection; 500
// keeps a reconnect's subscribe burst at five requests per connection (each public request costs credits,
// feeds.md §2) and one slow connection from carrying every instrument.
inline constexpr std::size_t kMaxChannelsPerRequest = 100;
inline constexpr std::size_t kMaxChannelsPerConnection = 500;

// `{"jsonrpc":"2.0","id":ID,"method":METHOD,"params":{"channels":[...]}}`.
std::string channels_request(std::string_view method, std::span<const std::string> channels,
                             std::uint64_t id);

// True when `frame` is the venue's heartbeat test_request (and not some data that merely contains the
// text); `reply` then holds the public/test call. Allocation-free once `reply` has grown to the reply's size.
bool test_request_reply(std::string_view frame, std::string& reply) noexcept;

class DeribitProtocol final : public VenueProtocol {
 public:
  std::string_view id() const noexcept override { return "deribit"; }
  std::string normalized_instrument(std::string_view symbol) const override;
  std::vector<ConnectionPlan> plan(const VenueEndpoints& endpoints,
                                   std::span<const std::string> symbols) const override;
  VenueLimits limits() const override;
  Heartbeat heartbeat() const override { return {}; }  // the venue asks (test_request); see reply_to
  std::vector<std::string> open_messages() const override;
  bool reply_to(std::string_view frame, std::string& reply) const override;
  BookResync book_resync() const noexcept override { return BookResync::kResubscribe; }
  std::vector<std::string> resubscribe(const Topic& topic, std::uint64_t request_id) const override;
};

const VenueProtocol& deribit_protocol();

}  // namespace sigflow::io::deribit
