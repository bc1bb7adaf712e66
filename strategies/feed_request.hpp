#pragma once
// FeedRequest: what the strategy thread asks of the feed thread, through a bounded SPSC queue running the
// other way from the FrameRing. The strategy thread is the one that decodes, so it is the one that sees a
// book fall out of sequence or a stream go quiet; the feed thread owns the sockets that can fix it.
//
//   kBookResync   a book broke its sequence chain (or crossed, or failed its checksum): make the venue send
//                 a fresh snapshot — a REST depth snapshot for Binance, a resubscribe of the book topic for
//                 the others (VenueProtocol::book_resync()).
//   kTopicSilent  a watched topic of a live connection delivered no data for longer than its bound: the
//                 feed thread resubscribes it (a quiet market), or recycles the connection when the
//                 connection itself went silent (FeedConnection::on_topic_silent).
//
// Requests name the instrument by its index in the universe both threads were built from (the pipeline
// builds the strategy core's instruments and the feed's table from one list), so a request is a few bytes
// and pushing it neither allocates nor blocks. A full queue drops the request and the strategy side counts
// it; the strategy side retries a resync that produced nothing within its timeout, so nothing loops and
// nothing is lost for good.
#include <boost/lockfree/spsc_queue.hpp>
#include <cstdint>

#include "io/venues/venue_protocol.hpp"

namespace sigflow::strategies {

struct FeedRequest {
  enum class Kind : std::uint8_t { kBookResync, kTopicSilent };
  Kind kind = Kind::kBookResync;
  io::TopicKind topic = io::TopicKind::kBook;  // the silent topic's kind (kBook for a resync)
  std::uint32_t instrument = 0;                // index into the shared instrument list
  // kTopicSilent: when the topic last delivered data (monotonic ns), so that the feed thread can tell a
  // silence that began before the topic's latest (re)subscription from one that outlived it.
  std::int64_t last_data_ns = 0;
};

using FeedRequestQueue = boost::lockfree::spsc_queue<FeedRequest>;

}  // namespace sigflow::strategies
