#include "io/http_upgrade.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/beast/http/string_body.hpp>

#include <array>

namespace sigflow::io {
namespace {

namespace http = boost::beast::http;

std::string base64(const unsigned char* data, std::size_t size) {
  std::string out(4 * ((size + 2) / 3), '\0');
  // EVP_EncodeBlock writes a terminating NUL after the 4*ceil(n/3) characters; the string's own terminator
  // slot takes it.
  const int written =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
  out.resize(static_cast<std::size_t>(written));
  return out;
}

// Boost 1.74's Beast speaks boost::string_view.
std::string_view std_view(boost::beast::string_view v) {
  return {v.data(), v.size()};
}

bool has_line_break(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

// True when the comma-separated header value lists `token` (case-insensitive), e.g. "keep-alive, Upgrade".
bool lists_token(std::string_view value, std::string_view token) {
  for (const auto& t : http::token_list{boost::beast::string_view(value.data(), value.size())}) {
    if (boost::beast::iequals(t, boost::beast::string_view(token.data(), token.size()))) return true;
  }
  return false;
}

// Error bodies end up in logs: keep them on one line and bounded.
std::string printable_snippet(std::string_view body, std::size_t limit) {
  std::string out;
  const std::size_t n = std::min(body.size(), limit);
  out.reserve(n + 3);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(body[i]);
    out.push_back(c < 0x20 || c == 0x7f ? ' ' : static_cast<char>(c));
  }
  if (body.size() > limit) out += "...";
  return out;
}

}  // namespace

// A string body, not empty_body: a refused upgrade (429, 418, 503) explains itself in its body, which may be
// chunked; Beast decodes it and body_limit bounds it. A 101 has no body, so the upgrade itself is unaffected.
struct UpgradeHandshake::Parser : http::response_parser<http::string_body> {};

UpgradeHandshake::UpgradeHandshake() = default;
UpgradeHandshake::~UpgradeHandshake() = default;

std::string websocket_accept_key(std::string_view key) {
  static constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::string input;
  input.reserve(key.size() + kGuid.size());
  input.append(key).append(kGuid);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_size = 0;
  if (EVP_Digest(input.data(), input.size(), digest.data(), &digest_size, EVP_sha1(), nullptr) != 1)
    return {};
  return base64(digest.data(), digest_size);
}

std::string UpgradeHandshake::start(const UpgradeRequest& request) {
  parser_ = std::make_unique<Parser>();
  parser_->header_limit(kHeaderLimit);
  parser_->body_limit(kErrorBodyLimit);
  buffer_.clear();
  parsed_ = 0;
  websocket_bytes_ = {};
  error_.clear();
  status_ = Status::kNeedMore;
  response_status_ = 0;

  // A CR or LF in a configured value would let it inject headers or end the request early.
  bool clean = !has_line_break(request.host) && !has_line_break(request.target) &&
               !has_line_break(request.user_agent) && !request.host.empty();
  for (const auto& [name, value] : request.extra_headers) {
    clean = clean && !name.empty() && !has_line_break(name) && !has_line_break(value) &&
            name.find(':') == std::string::npos;
  }
  if (!clean) {
    fail("invalid upgrade request: empty host, or a line break or colon in a header name or value");
    return {};
  }

  std::array<unsigned char, 16> nonce{};
  if (RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) != 1) {
    fail("RAND_bytes failed: cannot make a Sec-WebSocket-Key");
    return {};
  }
  const std::string key = base64(nonce.data(), nonce.size());
  expected_accept_ = websocket_accept_key(key);

  std::string out;
  out.reserve(256 + request.target.size());
  out.append("GET ").append(request.target.empty() ? "/" : request.target).append(" HTTP/1.1\r\n");
  out.append("Host: ").append(request.host).append("\r\n");
  out.append("Upgrade: websocket\r\nConnection: Upgrade\r\n");
  out.append("Sec-WebSocket-Key: ").append(key).append("\r\n");
  out.append("Sec-WebSocket-Version: 13\r\n");
  if (!request.user_agent.empty()) out.append("User-Agent: ").append(request.user_agent).append("\r\n");
  for (const auto& [name, value] : request.extra_headers)
    out.append(name).append(": ").append(value).append("\r\n");
  out.append("\r\n");
  return out;
}

UpgradeHandshake::Status UpgradeHandshake::feed(std::string_view in) {
  if (status_ != Status::kNeedMore || !parser_) return status_;
  // Beast consumes a header only once it is complete, so unconsumed bytes are kept and presented again.
  buffer_.append(in);
  while (parsed_ < buffer_.size()) {
    boost::beast::error_code ec;
    const std::size_t used =
        parser_->put(boost::asio::buffer(buffer_.data() + parsed_, buffer_.size() - parsed_), ec);
    parsed_ += used;
    if (ec == http::error::need_more) break;
    if (ec == http::error::body_limit) return reject_with_body();
    if (ec) return fail("malformed upgrade response: " + ec.message());
    if (parser_->is_header_done() && response_status_ == 0) {
      response_status_ = parser_->get().result_int();
      if (response_status_ == 101) return check_upgrade();
    }
    if (parser_->is_done()) return reject_with_body();
    if (used == 0) break;
  }
  return status_;
}

UpgradeHandshake::Status UpgradeHandshake::on_eof() {
  if (status_ != Status::kNeedMore) return status_;
  if (!parser_ || !parser_->is_header_done()) {
    return fail("connection closed during the upgrade, after " + std::to_string(buffer_.size()) +
                " bytes of response");
  }
  // A body without Content-Length or chunking ends at EOF; any other error still leaves the partial body.
  boost::beast::error_code ec;
  parser_->put_eof(ec);
  return reject_with_body();
}

UpgradeHandshake::Status UpgradeHandshake::fail(std::string message) {
  error_ = std::move(message);
  status_ = Status::kFailed;
  return status_;
}

UpgradeHandshake::Status UpgradeHandshake::check_upgrade() {
  const auto& response = parser_->get();
  const std::string_view upgrade = std_view(response[http::field::upgrade]);
  if (!lists_token(upgrade, "websocket")) {
    return fail("upgrade response 101 without `Upgrade: websocket` (got \"" +
                printable_snippet(upgrade, kBodySnippet) + "\")");
  }
  const std::string_view connection = std_view(response[http::field::connection]);
  if (!lists_token(connection, "upgrade")) {
    return fail("upgrade response 101 without `Connection: upgrade` (got \"" +
                printable_snippet(connection, kBodySnippet) + "\")");
  }
  const std::string_view accept = std_view(response[http::field::sec_websocket_accept]);
  if (accept != expected_accept_) {
    return fail("upgrade response has a wrong Sec-WebSocket-Accept (got \"" +
                printable_snippet(accept, kBodySnippet) + "\", expected \"" + expected_accept_ + "\")");
  }
  // RFC 6455 §4.1: an extension or subprotocol we did not ask for fails the connection; a compressed
  // (RSV1) frame from an unrequested permessage-deflate would otherwise kill it later, less clearly.
  if (response.count(http::field::sec_websocket_extensions) != 0) {
    return fail("upgrade response enables an extension that was not requested: " +
                printable_snippet(std_view(response[http::field::sec_websocket_extensions]), kBodySnippet));
  }
  if (response.count(http::field::sec_websocket_protocol) != 0) {
    return fail("upgrade response selects a subprotocol that was not requested: " +
                printable_snippet(std_view(response[http::field::sec_websocket_protocol]), kBodySnippet));
  }
  websocket_bytes_ = std::string_view(buffer_).substr(parsed_);
  status_ = Status::kUpgraded;
  return status_;
}

UpgradeHandshake::Status UpgradeHandshake::reject_with_body() {
  const auto& response = parser_->get();
  std::string message = "upgrade rejected: HTTP " + std::to_string(response.result_int());
  const auto reason = response.reason();
  if (!reason.empty()) message.append(" ").append(reason.data(), reason.size());
  const std::string_view body = response.body();
  if (!body.empty()) message.append(": ").append(printable_snippet(body, kBodySnippet));
  return fail(std::move(message));
}

}  // namespace sigflow::io
