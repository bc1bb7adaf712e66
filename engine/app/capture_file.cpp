#include "engine/app/capture_file.hpp"

#include <simdjson.h>

#include <charconv>
#include <cmath>

#include "strategies/signal.hpp"

namespace sigflow::app {

struct CaptureReader::Parser {
  simdjson::dom::parser dom;
};

CaptureReader::CaptureReader() : parser_(std::make_unique<Parser>()) {}
CaptureReader::~CaptureReader() = default;

namespace {

CaptureRecordType type_of(std::string_view t) noexcept {
  if (t == "recv") return CaptureRecordType::kRecv;
  if (t == "http") return CaptureRecordType::kHttp;
  if (t == "connect") return CaptureRecordType::kConnect;
  if (t == "send") return CaptureRecordType::kSend;
  if (t == "header") return CaptureRecordType::kHeader;
  return CaptureRecordType::kOther;
}

// Optional string field: absent is fine, another type is an error.
bool string_field(const simdjson::dom::object& o, std::string_view key, std::string_view& out) {
  simdjson::dom::element e;
  if (o[key].get(e)) return true;
  return !e.get(out);
}

// cryptofeed writes `ts` as unix seconds, a number or a numeric string; sigflow's "format" is a string
// and cryptofeed's a number.
bool seconds_to_ns(double seconds, std::int64_t& out) noexcept {
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 9.2e9) return false;
  out = static_cast<std::int64_t>(std::llround(seconds * 1e9));
  return true;
}

}  // namespace

std::string CaptureReader::parse(std::string_view line, CaptureRecord& out) {
  out = CaptureRecord{};
  simdjson::dom::element root;
  if (const auto error = parser_->dom.parse(line.data(), line.size()).get(root))
    return std::string("not JSON: ") + simdjson::error_message(error);
  simdjson::dom::object o;
  if (root.get(o)) return "not a JSON object";
  std::string_view t;
  if (o["t"].get(t)) return "no \"t\" record type";
  out.type = type_of(t);

  if (!string_field(o, "conn", out.conn) || !string_field(o, "addr", out.addr) ||
      !string_field(o, "url", out.url) || !string_field(o, "data", out.data) ||
      !string_field(o, "exchange", out.exchange) || !string_field(o, "venue", out.venue) ||
      !string_field(o, "route", out.route) || !string_field(o, "stream", out.stream))
    return "a text field (conn, addr, url, data, exchange, venue, route, stream) is not a string";

  simdjson::dom::element format;
  if (!o["format"].get(format)) {
    if (format.get(out.format)) {
      // cryptofeed's numeric format: keep its text form in a view of the line
      const std::size_t at = line.find("\"format\":");
      if (at != std::string_view::npos) {
        std::size_t end = at + 9;
        while (end < line.size() && line[end] != ',' && line[end] != '}') ++end;
        out.format = line.substr(at + 9, end - at - 9);
      }
    }
  }

  simdjson::dom::element value;
  if (!o["recv_ns"].get(value)) {
    std::int64_t ns = 0;
    if (value.get(ns) || ns < 0) return "\"recv_ns\" is not a non-negative integer";
    out.recv_ns = ns;
  } else if (!o["ts"].get(value)) {
    double seconds = 0;
    std::string_view text;
    if (!value.get(text)) {
      const auto r = std::from_chars(text.data(), text.data() + text.size(), seconds);
      if (r.ec != std::errc() || r.ptr != text.data() + text.size()) return "\"ts\" is not a number";
    } else if (value.get(seconds)) {
      return "\"ts\" is not a number";
    }
    if (!seconds_to_ns(seconds, out.recv_ns)) return "\"ts\" is out of range";
  }
  if ((out.type == CaptureRecordType::kRecv || out.type == CaptureRecordType::kHttp) &&
      out.data.data() == nullptr)
    return "a recv/http record without \"data\"";
  return {};
}

std::string_view venue_of_cryptofeed(std::string_view exchange, std::string_view addr) noexcept {
  if (exchange == "BINANCE_FUTURES") return "binance-usdm";
  if (exchange == "BINANCE") return "binance";
  if (exchange == "OKX") return "okx";
  if (exchange == "DERIBIT") return "deribit";
  if (exchange == "BYBIT") {
    if (addr.find("/spot") != std::string_view::npos) return "bybit-spot";
    if (addr.find("/linear") != std::string_view::npos) return "bybit-linear";
  }
  return {};
}

std::string_view depth_snapshot_symbol(std::string_view url) noexcept {
  const std::size_t query = url.find('?');
  if (query == std::string_view::npos) return {};
  const std::string_view path = url.substr(0, query);
  if (!path.ends_with("/depth")) return {};
  std::string_view rest = url.substr(query + 1);
  while (!rest.empty()) {
    const std::size_t amp = rest.find('&');
    const std::string_view param = rest.substr(0, amp);
    if (param.starts_with("symbol=")) return param.substr(7);
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return {};
}

namespace {

void number(std::string& out, std::int64_t value) {
  char buf[24];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, value).ptr);
}

void field(std::string& out, std::string_view key, std::string_view value) {
  out += ",\"";
  out += key;
  out += "\":";
  strategies::append_json_string(value, out);
}

}  // namespace

void append_capture_header(std::string& out, std::int64_t recorded_unix_ns) {
  out += R"({"t":"header","format":")";
  out += kSigflowCaptureFormat;
  out += R"(","recorded_ns":)";
  number(out, recorded_unix_ns);
  out += "}\n";
}

void append_capture_connect(std::string& out, std::uint32_t conn_id, std::string_view venue,
                            std::string_view route, std::string_view stream, std::string_view addr) {
  out += R"({"t":"connect","conn":")";
  number(out, conn_id);
  out += '"';
  field(out, "venue", venue);
  field(out, "route", route);
  field(out, "stream", stream);
  field(out, "addr", addr);
  out += "}\n";
}

void append_capture_recv(std::string& out, std::uint32_t conn_id, std::string_view venue,
                         std::int64_t recv_ns, std::string_view data) {
  out += R"({"t":"recv","conn":")";
  number(out, conn_id);
  out += '"';
  field(out, "venue", venue);
  out += R"(,"recv_ns":)";
  number(out, recv_ns);
  field(out, "data", data);
  out += "}\n";
}

}  // namespace sigflow::app
