// `sigflow replay`: reads a capture, finds its instrument universe in the frames themselves, and feeds
// every frame through the same StrategyCore (decoders, BookSync, features, local model) the live engine
// runs, on the capture's own clock: a 50 ms cycle in capture time, so a replay is deterministic.
#include "engine/app/replay_command.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "engine/app/capture_file.hpp"
#include "engine/frame_ring.hpp"
#include "io/venues/venue_decoder.hpp"
#include "io/venues/venue_protocol.hpp"
#include "strategies/signal.hpp"
#include "strategies/strategy_core.hpp"

namespace sigflow::app {
namespace {

// Error lines per kind beyond which a broken capture only counts.
constexpr int kMaxErrorLines = 20;

struct Connection {
  std::string venue;
  std::string route;
  std::string stream;
};

struct Frame {
  std::uint32_t conn;  // index into Session::connections = the conn_id the core sees
  std::int64_t recv_ns;
  std::size_t line;
  std::string padded;  // the bytes and engine::kFramePadding zero bytes: the decoders' contract
  std::size_t length;
};

struct Session {
  std::vector<Connection> connections;
  std::vector<Frame> frames;
  std::size_t bad_lines = 0;
  std::size_t unattributed = 0;  // frames of a connection the capture never opened
};

std::uint32_t connection_index(Session& s, std::map<std::string, std::uint32_t>& by_label,
                               const std::string& label, Connection c) {
  const auto [it, added] = by_label.try_emplace(label, static_cast<std::uint32_t>(s.connections.size()));
  if (added) s.connections.push_back(std::move(c));
  return it->second;
}

void add_frame(Session& s, std::uint32_t conn, std::int64_t recv_ns, std::size_t line,
               std::string_view data) {
  std::string padded;
  padded.reserve(data.size() + engine::kFramePadding);
  padded.assign(data);
  padded.append(engine::kFramePadding, '\0');
  s.frames.push_back(Frame{conn, recv_ns, line, std::move(padded), data.size()});
}

bool load(const std::string& path, Session& s, std::ostream& err) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    err << "sigflow replay: cannot read '" << path << "'\n";
    return false;
  }
  CaptureReader reader;
  CaptureRecord r;
  std::string exchange;
  std::map<std::string, std::uint32_t> by_label;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (const std::string why = reader.parse(line, r); !why.empty()) {
      if (++s.bad_lines <= kMaxErrorLines)
        err << "sigflow replay: " << path << ":" << number << ": " << why << '\n';
      continue;
    }
    switch (r.type) {
      case CaptureRecordType::kHeader:
        exchange = std::string(r.exchange);
        break;
      case CaptureRecordType::kConnect: {
        const std::string venue(!r.venue.empty() ? r.venue : venue_of_cryptofeed(exchange, r.addr));
        if (venue.empty()) {
          err << "sigflow replay: " << path << ":" << number << ": no market id for exchange '" << exchange
              << "' at '" << r.addr << "'\n";
          break;
        }
        connection_index(s, by_label, std::string(r.conn),
                         Connection{venue, std::string(r.route), std::string(r.stream)});
        break;
      }
      case CaptureRecordType::kRecv: {
        const auto it = by_label.find(std::string(r.conn));
        if (it != by_label.end()) {
          add_frame(s, it->second, r.recv_ns, number, r.data);
        } else if (!r.venue.empty()) {  // sigflow records name their venue: the connection opens implicitly
          add_frame(
              s, connection_index(s, by_label, std::string(r.conn), Connection{std::string(r.venue), {}, {}}),
              r.recv_ns, number, r.data);
        } else {
          ++s.unattributed;
        }
        break;
      }
      case CaptureRecordType::kHttp: {
        // Only depth snapshots matter (exchangeInfo and instrument lists do not reach the books).
        const std::string_view symbol = depth_snapshot_symbol(r.url);
        if (symbol.empty()) break;
        const std::string venue(!r.venue.empty() ? r.venue : venue_of_cryptofeed(exchange, {}));
        if (venue.empty()) break;
        const std::uint32_t id =
            connection_index(s, by_label, venue + " rest " + std::string(symbol),
                             Connection{venue, std::string(strategies::kRestRoute), std::string(symbol)});
        add_frame(s, id, r.recv_ns, number, r.data);
        break;
      }
      case CaptureRecordType::kSend:
      case CaptureRecordType::kOther:
        break;
    }
  }
  return true;
}

// Collects the (symbol) of every market event, in order of first appearance.
class SymbolCollector final : public io::EventSink {
 public:
  void on_event(const io::MarketEvent& e) noexcept override {
    switch (e.kind) {
      case io::EventKind::kTrade:
      case io::EventKind::kBestBidAsk:
      case io::EventKind::kBookSnapshot:
      case io::EventKind::kBookDelta:
      case io::EventKind::kMarkFunding:
      case io::EventKind::kLiquidation:
        if (!e.symbol.empty()) seen.emplace_back(e.symbol);
        break;
      default:
        break;
    }
  }
  std::vector<std::string> seen;
};

class SignalPrinter final : public strategies::SignalSink {
 public:
  explicit SignalPrinter(std::ostream* out) : out_(out) {}
  void on_signal(const strategies::Signal& signal) override {
    if (!out_) return;
    line_.clear();
    strategies::append_json_line(signal, line_);
    *out_ << line_;
  }

 private:
  std::ostream* out_;
  std::string line_;
};

void decimal_or_null(std::string& out, const io::PriceLevel* level) {
  if (!level) {
    out += "null";
    return;
  }
  char buf[io::Decimal::kMaxChars + 2];
  char* end = level->price.format(buf, buf + sizeof buf);
  out += '"';
  out.append(buf, end);
  out += '"';
}

void append_summary(const strategies::InstrumentState& s, std::string& out) {
  const strategies::OrderBook& book = s.book();
  out += "{\"venue\":";
  strategies::append_json_string(s.spec().venue, out);
  out += ",\"symbol\":";
  strategies::append_json_string(s.spec().symbol, out);
  out += ",\"bids\":" + std::to_string(book.depth(strategies::BookSide::kBid));
  out += ",\"asks\":" + std::to_string(book.depth(strategies::BookSide::kAsk));
  out += ",\"best_bid\":";
  decimal_or_null(out, book.best_bid());
  out += ",\"best_ask\":";
  decimal_or_null(out, book.best_ask());
  out += ",\"trades\":" + std::to_string(s.trades());
  out += ",\"book_updates\":" + std::to_string(s.book_updates());
  out += ",\"gaps\":" + std::to_string(s.gaps());
  out += ",\"resyncs\":" + std::to_string(s.resyncs());
  out += "}\n";
}

}  // namespace

int run_replay(const ReplayOptions& options, std::ostream& out, std::ostream& err) {
  Session session;
  if (!load(options.capture, session, err)) return 2;
  int status = session.bad_lines != 0 ? 1 : 0;
  if (session.unattributed != 0)
    err << "sigflow replay: " << session.unattributed << " frames on connections the capture never opened\n";
  if (session.bad_lines > kMaxErrorLines)
    err << "sigflow replay: " << session.bad_lines << " lines were not capture records\n";

  // One decoder per venue; a venue the registry does not know is reported and left out.
  std::map<std::string, std::unique_ptr<io::VenueDecoder>> decoders;
  std::map<std::string, std::size_t> skipped;
  for (const Connection& c : session.connections) {
    if (decoders.count(c.venue) || skipped.count(c.venue)) continue;
    if (auto decoder = io::make_decoder(c.venue)) {
      decoders.emplace(c.venue, std::move(decoder));
    } else {
      skipped.emplace(c.venue, 0);
    }
  }

  // The universe: every (venue, symbol) the frames carry, in order of first appearance.
  std::vector<strategies::InstrumentSpec> instruments;
  std::set<std::pair<std::string, std::string>> known;
  const auto add_instrument = [&](const std::string& venue, const std::string& symbol) {
    if (!known.emplace(venue, symbol).second) return;
    const io::VenueProtocol* protocol = io::find_protocol(venue);
    std::string normalized = protocol ? protocol->normalized_instrument(symbol) : std::string();
    instruments.push_back({venue, symbol, normalized.empty() ? symbol : std::move(normalized)});
  };
  std::size_t decode_errors = 0;
  SymbolCollector collector;
  for (const Frame& f : session.frames) {
    const Connection& c = session.connections[f.conn];
    const auto d = decoders.find(c.venue);
    if (d == decoders.end()) {
      ++skipped[c.venue];
      continue;
    }
    collector.seen.clear();
    const std::string_view bytes(f.padded.data(), f.length);
    const bool rest = c.route == strategies::kRestRoute;
    const bool ok = rest ? d->second->decode_rest_snapshot(bytes, c.stream, f.recv_ns, collector)
                         : d->second->decode(bytes, f.recv_ns, c.stream, collector);
    if (!ok && ++decode_errors <= kMaxErrorLines)
      err << "sigflow replay: " << options.capture << ":" << f.line << ": " << c.venue
          << " frame does not decode: " << d->second->error_message() << '\n';
    for (const std::string& symbol : collector.seen) add_instrument(c.venue, symbol);
  }
  for (const auto& [venue, frames] : skipped) {
    err << "sigflow replay: no decoder for venue '" << venue << "': " << frames << " frames skipped\n";
    status = 1;
  }
  if (decode_errors != 0) {
    err << "sigflow replay: " << decode_errors << " frames did not decode\n";
    status = 1;
  }
  if (instruments.empty()) {
    err << "sigflow replay: no market data for any known venue in '" << options.capture << "'\n";
    return 2;
  }

  std::vector<strategies::ConnectionSpec> specs;
  for (std::uint32_t i = 0; i < session.connections.size(); ++i) {
    const Connection& c = session.connections[i];
    if (decoders.count(c.venue)) specs.push_back({i, c.venue, c.route, c.stream});
  }
  strategies::StrategyConfig config;
  config.book_capacity = options.book_capacity;
  config.error_log = nullptr;  // decode errors were reported above, frame by frame
  strategies::StrategyCore core(std::move(instruments), std::move(specs), config);

  // Capture records are in arrival order but not always in timestamp order (cryptofeed stamps a REST
  // call with its start time): the clock only moves forward.
  SignalPrinter printer(options.summary ? nullptr : &out);
  std::uint64_t cycle = 0;
  std::int64_t now = INT64_MIN;
  std::int64_t next_cycle = INT64_MIN;
  for (const Frame& f : session.frames) {
    if (!decoders.count(session.connections[f.conn].venue)) continue;
    if (next_cycle == INT64_MIN) next_cycle = f.recv_ns + options.cycle_ns;
    now = std::max(now, f.recv_ns);
    for (; next_cycle <= now; next_cycle += options.cycle_ns)
      core.on_cycle(cycle++, next_cycle, next_cycle, printer);
    core.on_frame(engine::FrameView{f.conn, f.recv_ns, std::string_view(f.padded.data(), f.length)});
  }
  core.on_cycle(cycle++, now, now, printer);

  if (options.summary) {
    std::string line;
    for (const strategies::InstrumentState& s : core.instruments()) {
      line.clear();
      append_summary(s, line);
      out << line;
    }
  }
  out.flush();
  return status;
}

}  // namespace sigflow::app
