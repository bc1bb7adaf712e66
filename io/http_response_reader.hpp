#pragma once
// HttpResponseReader: one HTTP/1.1 response from bytes split anywhere, without I/O — the parsing half of
// HttpConnection, separate so that it can be driven byte by byte in tests and by the fuzzer.
//
// Boost.Beast's response_parser does the parsing (status line, fields, chunked framing, 1xx interim
// responses skipped); a custom body type hands each run of dechunked body bytes straight on, to a reused
// string (buffered) or to the handler (streaming), so the body is never copied twice. Header fields come
// from an arena rewound per response.
//
// Limits are enforced here rather than by Beast's body_limit: Beast 1.74's response parser does not apply it
// to a declared Content-Length (measured: a 4 KiB body passes a 1 KiB limit), so the reader checks the
// declared length at the head and counts the bytes of every framing.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "io/http_client.hpp"

namespace sigflow::io {

class HttpResponseReader {
 public:
  enum class Status : std::uint8_t { kNeedMore, kComplete, kFailed };

  HttpResponseReader(std::uint32_t max_header_bytes, std::uint64_t max_body_bytes);
  ~HttpResponseReader();
  HttpResponseReader(const HttpResponseReader&) = delete;
  HttpResponseReader& operator=(const HttpResponseReader&) = delete;

  // Begins a response. head_only: the request was HEAD (no body whatever the header says). streaming: the
  // handler whose on_head / on_body receive the response as it arrives; null keeps the body in body().
  void start(bool head_only, HttpResponseHandler* streaming);

  // Consumes received bytes. kComplete: the response is whole (leftover() bytes beyond it were not used);
  // kFailed: error_kind() and error() say why, and the reader stays failed until start().
  Status feed(std::string_view in);
  // The connection ended: completes a body delimited by the end of the connection, else kFailed
  // (kPeerClosed) unless already complete.
  Status finish_at_eof();

  Status status() const noexcept { return status_; }
  bool header_done() const noexcept;
  // The response so far; meaningful once header_done(), valid until the next start().
  HttpResponse response() const noexcept;
  std::size_t leftover() const noexcept { return leftover_; }
  HttpErrorKind error_kind() const noexcept { return error_kind_; }
  std::string_view error() const noexcept { return error_; }

 private:
  struct Parser;

  bool on_body_start(std::uint64_t declared, bool has_declared);
  bool on_body_bytes(std::string_view bytes);
  void deliver_head();
  Status fail(HttpErrorKind kind, std::string message);
  Status parse(std::string_view input, std::size_t& consumed);

  std::unique_ptr<Parser> parser_;
  std::uint32_t max_header_bytes_;
  std::uint64_t max_body_bytes_;
  HttpResponseHandler* streaming_ = nullptr;
  bool head_only_ = false;
  bool head_delivered_ = false;
  bool handler_stopped_ = false;
  bool body_too_large_ = false;
  std::uint64_t body_received_ = 0;
  std::string pending_;  // bytes Beast has not consumed yet (a partial header or chunk-size line)
  std::string body_;
  std::size_t leftover_ = 0;
  Status status_ = Status::kNeedMore;
  HttpErrorKind error_kind_ = HttpErrorKind::kNone;
  std::string error_;
};

}  // namespace sigflow::io
