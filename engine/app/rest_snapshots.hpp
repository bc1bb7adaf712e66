#pragma once
// The feed thread's REST snapshot source for the venues whose books sync over REST (Binance): the venue's
// weight and ban rules and one keep-alive HTTP/1.1 connection per venue on the feed thread's loop
// (io::binance::SnapshotFetcher), and every delivered body written into the FrameRing as a frame of the
// instrument's REST pseudo-connection, where the strategy decodes it with decode_rest_snapshot.
#include "engine/app/feed_thread.hpp"

namespace sigflow::app {

// A factory for FeedThread; it makes nothing (returns null) when no venue syncs books over REST.
RestSnapshotSourceFactory make_rest_snapshot_source_factory();

}  // namespace sigflow::app
