#include "io/http_response_reader.hpp"

#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/optional.hpp>
#include <boost/system/error_code.hpp>
#include <memory_resource>
#include <optional>
#include <tuple>

namespace sigflow::io {
namespace {

namespace http = boost::beast::http;
using boost::beast::error_code;

std::string_view std_view(boost::beast::string_view v) noexcept {
  return {v.data(), v.size()};
}

// Receives the body bytes Beast has dechunked.
class BodySink {
 public:
  virtual bool on_body_start(const boost::optional<std::uint64_t>& content_length) = 0;
  virtual bool on_body_bytes(std::string_view bytes) = 0;

 protected:
  ~BodySink() = default;
};

// A Beast Body whose reader forwards every run of body bytes to a BodySink without copying them.
struct SinkBody {
  using value_type = BodySink*;

  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(http::header<isRequest, Fields>&, value_type& sink) : sink_(sink) {}

    void init(const boost::optional<std::uint64_t>& content_length, error_code& ec) {
      ec = {};
      if (!sink_->on_body_start(content_length)) ec = http::error::body_limit;
    }

    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, error_code& ec) {
      ec = {};
      std::size_t taken = 0;
      for (auto it = boost::asio::buffer_sequence_begin(buffers);
           it != boost::asio::buffer_sequence_end(buffers); ++it) {
        const boost::asio::const_buffer b = *it;
        if (!sink_->on_body_bytes({static_cast<const char*>(b.data()), b.size()})) {
          ec = boost::system::errc::make_error_code(boost::system::errc::operation_canceled);
          return taken;
        }
        taken += b.size();
      }
      return taken;
    }

    void finish(error_code& ec) { ec = {}; }

   private:
    value_type sink_;
  };
};

using FieldsAllocator = std::pmr::polymorphic_allocator<char>;
using Fields = http::basic_fields<FieldsAllocator>;
using Message = http::message<false, SinkBody, Fields>;
using BeastParser = http::response_parser<SinkBody, FieldsAllocator>;

// An OpenAI response header is ~1.5 KiB (x-ratelimit-*, openai-*, cf-* fields); Beast stores each field with
// its serialized text, so 16 KiB leaves ample room before the arena spills to the heap.
constexpr std::size_t kFieldArenaBytes = 16 * 1024;

const Message& message_of(const void* p) noexcept {
  return *static_cast<const Message*>(p);
}

}  // namespace

// ---- HttpResponse (views into the reader's Beast message) ----

unsigned HttpResponse::status() const noexcept {
  return message_of(message_).result_int();
}

std::string_view HttpResponse::reason() const noexcept {
  return std_view(message_of(message_).reason());
}

std::optional<std::string_view> HttpResponse::header(std::string_view name) const noexcept {
  const Message& m = message_of(message_);
  const auto it = m.find(boost::beast::string_view(name.data(), name.size()));
  if (it == m.end()) return std::nullopt;
  return std_view(it->value());
}

std::size_t HttpResponse::header_count() const noexcept {
  const Message& m = message_of(message_);
  return static_cast<std::size_t>(std::distance(m.begin(), m.end()));
}

HttpHeader HttpResponse::header_at(std::size_t index) const noexcept {
  const Message& m = message_of(message_);
  auto it = m.begin();
  std::advance(it, static_cast<std::ptrdiff_t>(index));
  return {std_view(it->name_string()), std_view(it->value())};
}

bool HttpResponse::keep_alive() const noexcept {
  return message_of(message_).keep_alive();
}

bool HttpResponse::chunked() const noexcept {
  return message_of(message_).chunked();
}

// ---- HttpResponseReader ----

struct HttpResponseReader::Parser final : BodySink {
  explicit Parser(HttpResponseReader& owner_in) : owner(owner_in) {}

  void reset() {
    beast.reset();
    arena.release();
    beast.emplace(std::piecewise_construct, std::make_tuple(static_cast<BodySink*>(this)),
                  std::make_tuple(FieldsAllocator(&arena)));
    beast->eager(true);
    beast->header_limit(owner.max_header_bytes_);
    beast->body_limit(owner.max_body_bytes_);
    if (owner.head_only_) beast->skip(true);
  }

  bool on_body_start(const boost::optional<std::uint64_t>& content_length) override {
    return owner.on_body_start(content_length.value_or(0), content_length.has_value());
  }
  bool on_body_bytes(std::string_view bytes) override { return owner.on_body_bytes(bytes); }

  HttpResponseReader& owner;
  std::array<std::byte, kFieldArenaBytes> arena_storage{};
  std::pmr::monotonic_buffer_resource arena{arena_storage.data(), arena_storage.size()};
  std::optional<BeastParser> beast;
};

HttpResponseReader::HttpResponseReader(std::uint32_t max_header_bytes, std::uint64_t max_body_bytes)
    : parser_(std::make_unique<Parser>(*this)),
      max_header_bytes_(max_header_bytes),
      max_body_bytes_(max_body_bytes) {
  pending_.reserve(4096);
  body_.reserve(16 * 1024);
  error_.reserve(128);
}

HttpResponseReader::~HttpResponseReader() = default;

void HttpResponseReader::start(bool head_only, HttpResponseHandler* streaming) {
  head_only_ = head_only;
  streaming_ = streaming;
  head_delivered_ = false;
  handler_stopped_ = false;
  body_too_large_ = false;
  body_received_ = 0;
  pending_.clear();
  body_.clear();
  leftover_ = 0;
  status_ = Status::kNeedMore;
  error_kind_ = HttpErrorKind::kNone;
  error_.clear();
  parser_->reset();
}

bool HttpResponseReader::header_done() const noexcept {
  return parser_->beast && parser_->beast->is_header_done();
}

HttpResponse HttpResponseReader::response() const noexcept {
  HttpResponse r;
  r.message_ = &parser_->beast->get();
  if (streaming_ == nullptr) r.body_ = body_;
  return r;
}

bool HttpResponseReader::on_body_start(std::uint64_t declared, bool has_declared) {
  if (has_declared && declared > max_body_bytes_) {
    body_too_large_ = true;
    return false;
  }
  deliver_head();
  return true;
}

bool HttpResponseReader::on_body_bytes(std::string_view bytes) {
  body_received_ += bytes.size();
  if (body_received_ > max_body_bytes_) {
    body_too_large_ = true;
    return false;
  }
  if (streaming_ == nullptr) {
    body_.append(bytes);
    return true;
  }
  if (!streaming_->on_body(bytes)) {
    handler_stopped_ = true;
    return false;
  }
  return true;
}

void HttpResponseReader::deliver_head() {
  if (head_delivered_) return;
  head_delivered_ = true;
  if (streaming_ != nullptr) streaming_->on_head(response());
}

HttpResponseReader::Status HttpResponseReader::fail(HttpErrorKind kind, std::string message) {
  status_ = Status::kFailed;
  error_kind_ = kind;
  error_ = std::move(message);
  return status_;
}

HttpResponseReader::Status HttpResponseReader::parse(std::string_view input, std::size_t& consumed) {
  BeastParser& beast = *parser_->beast;
  while (consumed < input.size()) {
    error_code ec;
    const std::size_t n =
        beast.put(boost::asio::const_buffer(input.data() + consumed, input.size() - consumed), ec);
    consumed += n;
    if (ec == http::error::need_more) break;
    if (ec) {
      if (handler_stopped_) return fail(HttpErrorKind::kAborted, "the response handler stopped the body");
      if (ec == http::error::body_limit || body_too_large_)
        return fail(HttpErrorKind::kBodyTooLarge,
                    "response body exceeds the limit of " + std::to_string(max_body_bytes_) + " bytes");
      if (ec == http::error::header_limit)
        return fail(HttpErrorKind::kHeaderTooLarge,
                    "response header exceeds the limit of " + std::to_string(max_header_bytes_) + " bytes");
      return fail(HttpErrorKind::kMalformedResponse, "malformed HTTP response: " + ec.message());
    }
    if (beast.is_header_done()) deliver_head();
    if (beast.is_done()) {
      const unsigned code = beast.get().result_int();
      if (code >= 100 && code < 200 && code != 101) {  // 100 Continue, 103 Early Hints: the real one follows
        parser_->reset();
        head_delivered_ = false;
        continue;
      }
      status_ = Status::kComplete;
      return status_;
    }
    if (n == 0) break;
  }
  if (beast.is_header_done()) deliver_head();
  return status_;
}

HttpResponseReader::Status HttpResponseReader::feed(std::string_view in) {
  if (status_ != Status::kNeedMore) return status_;
  std::string_view input = in;
  const bool from_pending = !pending_.empty();
  if (from_pending) {
    pending_.append(in);
    input = pending_;
  }
  std::size_t consumed = 0;
  parse(input, consumed);
  if (status_ == Status::kComplete) {
    leftover_ = input.size() - consumed;
    pending_.clear();
  } else if (status_ == Status::kNeedMore) {
    // Beast leaves a partial header or chunk-size line unconsumed; keep it for the next bytes.
    if (from_pending) {
      pending_.erase(0, consumed);
    } else {
      pending_.assign(input.substr(consumed));
    }
  }
  return status_;
}

HttpResponseReader::Status HttpResponseReader::finish_at_eof() {
  if (status_ != Status::kNeedMore) return status_;
  BeastParser& beast = *parser_->beast;
  if (beast.is_header_done() && beast.need_eof()) {
    error_code ec;
    beast.put_eof(ec);
    if (!ec && beast.is_done()) {
      status_ = Status::kComplete;
      return status_;
    }
  }
  return fail(HttpErrorKind::kPeerClosed, beast.got_some() ? "connection closed in the middle of the response"
                                                           : "connection closed before the response");
}

}  // namespace sigflow::io
