#pragma once
// Capture files: recorded sessions that `sigflow replay` feeds through the live decode and book code.
//
// Two formats, both JSON lines with the same record shapes:
//
// cryptofeed's raw capture (tests/fixtures/captures/README.md, "format":2): a header naming the exchange,
// then connect / send / recv / http records whose `ts` is unix seconds (a number or a numeric string).
// The market id comes from the header's exchange and the connection address (BINANCE_FUTURES →
// binance-usdm, BINANCE → binance, BYBIT → bybit-spot or bybit-linear by the address's /spot or /linear,
// OKX → okx, DERIBIT → deribit).
//
// sigflow's own capture ("format":"sigflow-1"), written by `sigflow record`:
//   {"t":"header","format":"sigflow-1","recorded_ns":<unix ns>}
//   {"t":"connect","conn":"<id>","venue":"binance-usdm","route":"/public","stream":"","addr":"wss://…"}
//   {"t":"recv","conn":"<id>","venue":"binance-usdm","recv_ns":<int>,"data":"<frame, verbatim>"}
//   {"t":"http","conn":"<id>","venue":"binance-usdm","recv_ns":<int>,"url":"https://…","data":"<body>"}
// `recv_ns` is the engine's monotonic receive time, an integer, so replay reproduces the live clock to the
// nanosecond. A connection whose route is "rest" carries REST depth snapshot bodies for the symbol in its
// `stream` (the feed thread's pseudo-connection, strategies::ConnectionSpec).
//
// The reader parses one line at a time into views that stay valid until the next line; it never throws:
// a malformed line is an error value naming what is wrong.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace sigflow::app {

enum class CaptureRecordType : std::uint8_t { kHeader, kConnect, kSend, kRecv, kHttp, kOther };

struct CaptureRecord {
  CaptureRecordType type = CaptureRecordType::kOther;
  std::string_view format;    // header: "2" (cryptofeed) or "sigflow-1"
  std::string_view exchange;  // cryptofeed header: "BINANCE_FUTURES"
  std::string_view conn;      // connection label
  std::string_view addr;      // connect / send: the WebSocket address
  std::string_view url;       // http: the request URL
  std::string_view data;      // recv / send / http: the payload, verbatim
  std::string_view venue;     // sigflow records: the market id
  std::string_view route;     // sigflow connect
  std::string_view stream;    // sigflow connect
  std::int64_t recv_ns = 0;   // sigflow: recv_ns; cryptofeed: ts converted to ns (0 when absent)
};

inline constexpr std::string_view kSigflowCaptureFormat = "sigflow-1";

class CaptureReader {
 public:
  CaptureReader();
  ~CaptureReader();
  CaptureReader(const CaptureReader&) = delete;
  CaptureReader& operator=(const CaptureReader&) = delete;

  // Parses one line. Returns an empty string on success, else why the line is not a capture record.
  std::string parse(std::string_view line, CaptureRecord& out);

 private:
  struct Parser;
  std::unique_ptr<Parser> parser_;
};

// The market id of a cryptofeed capture's connection; empty when the exchange is not one sigflow knows.
std::string_view venue_of_cryptofeed(std::string_view exchange, std::string_view addr) noexcept;

// The symbol of a REST depth snapshot URL (Binance ".../depth?symbol=KEEPUSDT&limit=1000"); empty when
// the URL is not a depth snapshot.
std::string_view depth_snapshot_symbol(std::string_view url) noexcept;

// Writers of sigflow capture lines (each appends one line and its '\n').
void append_capture_header(std::string& out, std::int64_t recorded_unix_ns);
void append_capture_connect(std::string& out, std::uint32_t conn_id, std::string_view venue,
                            std::string_view route, std::string_view stream, std::string_view addr);
void append_capture_recv(std::string& out, std::uint32_t conn_id, std::string_view venue,
                         std::int64_t recv_ns, std::string_view data);

}  // namespace sigflow::app
