#include "tools/inference-sim/inference_sim.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <list>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "io/loopback_certs.hpp"
#include "strategies/tokenizer/chat_tokens.hpp"
#include "strategies/tokenizer/tokenizer.hpp"
#include "tools/inference-sim/sim_reply.hpp"

namespace sigflow::tools {
namespace {

namespace http = boost::beast::http;
using Clock = std::chrono::steady_clock;

constexpr std::int64_t kMinuteNs = 60'000'000'000;

// ---- Go durations ----

// Go's fmtFrac/fmtInt: `v` in units of 10^-prec, printed with trailing fractional zeros dropped.
std::string go_fraction(std::uint64_t v, int prec) {
  std::string digits;
  bool print = false;
  for (int i = 0; i < prec; ++i) {
    const auto digit = static_cast<char>('0' + v % 10);
    print = print || digit != '0';
    if (print) digits.insert(digits.begin(), digit);
    v /= 10;
  }
  std::string out = std::to_string(v);
  if (print) out += "." + digits;
  return out;
}

}  // namespace

std::string format_go_duration(std::chrono::nanoseconds duration) {
  const auto ns = static_cast<std::uint64_t>(std::max<std::int64_t>(0, duration.count()));
  if (ns == 0) return "0s";
  if (ns < 1'000) return std::to_string(ns) + "ns";
  if (ns < 1'000'000) return go_fraction(ns, 3) + "\xC2\xB5s";  // Go writes U+00B5 (micro sign)
  if (ns < 1'000'000'000) return go_fraction(ns / 1'000 * 1'000, 6) + "ms";
  std::string out;
  std::uint64_t seconds_part = ns % 60'000'000'000;  // ns within the minute
  std::uint64_t minutes = ns / 60'000'000'000;
  const std::uint64_t hours = minutes / 60;
  minutes %= 60;
  if (hours > 0) out += std::to_string(hours) + "h";
  if (hours > 0 || minutes > 0) out += std::to_string(minutes) + "m";
  out += go_fraction(seconds_part, 9) + "s";
  return out;
}

namespace {

// A per-minute limit as a bucket that refills continuously: OpenAI's reset-* headers are the time until the
// bucket is full again, and a 429's "try again in" the time until the request's cost fits.
struct MinuteBucket {
  double capacity = 0;
  double level = 0;
  std::int64_t last_ns = 0;

  void reset(std::uint64_t limit, std::int64_t now_ns) {
    capacity = static_cast<double>(limit);
    level = capacity;
    last_ns = now_ns;
  }
  bool enabled() const { return capacity > 0; }
  void refill(std::int64_t now_ns) {
    if (!enabled()) return;
    level = std::min(capacity, level + static_cast<double>(now_ns - last_ns) * capacity / kMinuteNs);
    last_ns = now_ns;
  }
  std::int64_t ns_until(double amount) const {
    if (level >= amount) return 0;
    return static_cast<std::int64_t>(std::ceil((amount - level) * kMinuteNs / capacity));
  }
};

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

std::string_view reason_phrase(unsigned status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Payload Too Large";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

std::string error_body(std::string_view message, std::string_view type, std::optional<std::string_view> param,
                       std::optional<std::string_view> code) {
  std::string out = R"({"error":{"message":)";
  append_json_string(message, out);
  out += R"(,"type":)";
  append_json_string(type, out);
  out += R"(,"param":)";
  if (param) {
    append_json_string(*param, out);
  } else {
    out += "null";
  }
  out += R"(,"code":)";
  if (code) {
    append_json_string(*code, out);
  } else {
    out += "null";
  }
  out += "}}";
  return out;
}

// One parsed chat-completion request: what the simulator acts on.
struct ChatRequest {
  std::string model;
  std::vector<std::pair<std::string, std::string>> messages;  // role, content
  bool stream = false;
  bool include_usage = false;
  std::optional<std::uint64_t> max_completion_tokens;
  std::string response_format_type;  // "", "text", "json_object", "json_schema"
  std::string response_format_json;  // the raw value, counted as prompt tokens
};

// Reads the fields in one pass, in whatever order they come (on-demand forbids going back).
std::string parse_chat_request(std::string_view body, ChatRequest& out) {
  simdjson::ondemand::parser parser;
  const simdjson::padded_string padded(body);
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS) return "the body is not JSON";
  simdjson::ondemand::object root;
  if (doc.get_object().get(root) != simdjson::SUCCESS) return "the body is not a JSON object";
  bool has_messages = false;
  for (auto field : root) {
    std::string_view key;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) return "bad key";
    simdjson::ondemand::value value = field.value();
    if (key == "model") {
      std::string_view s;
      if (value.get_string().get(s) != simdjson::SUCCESS) return "'model' must be a string";
      out.model = std::string(s);
    } else if (key == "messages") {
      simdjson::ondemand::array messages;
      if (value.get_array().get(messages) != simdjson::SUCCESS) return "'messages' must be an array";
      for (auto item : messages) {
        simdjson::ondemand::object m;
        if (item.get_object().get(m) != simdjson::SUCCESS) return "each message must be an object";
        std::string role, content;
        for (auto mf : m) {
          std::string_view mk;
          if (mf.unescaped_key().get(mk) != simdjson::SUCCESS) return "bad key";
          simdjson::ondemand::value mv = mf.value();
          if (mk == "role") {
            std::string_view s;
            if (mv.get_string().get(s) != simdjson::SUCCESS) return "'role' must be a string";
            role = std::string(s);
          } else if (mk == "content") {
            simdjson::ondemand::json_type type;
            if (mv.type().get(type) != simdjson::SUCCESS) return "bad content";
            if (type == simdjson::ondemand::json_type::string) {
              std::string_view s;
              if (mv.get_string().get(s) != simdjson::SUCCESS) return "bad content";
              content = std::string(s);
            } else if (type == simdjson::ondemand::json_type::array) {
              // Content parts: the text parts, joined.
              for (auto part : mv.get_array()) {
                std::string_view text;
                if (part.find_field_unordered("text").get_string().get(text) == simdjson::SUCCESS)
                  content += text;
              }
            } else if (type != simdjson::ondemand::json_type::null) {
              return "'content' must be a string, an array of parts or null";
            }
          }
        }
        if (role.empty()) return "a message has no 'role'";
        out.messages.emplace_back(std::move(role), std::move(content));
      }
      has_messages = true;
    } else if (key == "stream") {
      bool b = false;
      if (value.get_bool().get(b) != simdjson::SUCCESS) return "'stream' must be a boolean";
      out.stream = b;
    } else if (key == "stream_options") {
      simdjson::ondemand::object o;
      if (value.get_object().get(o) != simdjson::SUCCESS) return "'stream_options' must be an object";
      bool b = false;
      if (o.find_field_unordered("include_usage").get_bool().get(b) == simdjson::SUCCESS)
        out.include_usage = b;
    } else if (key == "max_completion_tokens" || key == "max_tokens") {
      std::uint64_t n = 0;
      if (value.get_uint64().get(n) != simdjson::SUCCESS)
        return std::string("'") + std::string(key) + "' must be an integer";
      out.max_completion_tokens = n;
    } else if (key == "response_format") {
      simdjson::ondemand::object o;
      if (value.get_object().get(o) != simdjson::SUCCESS) return "'response_format' must be an object";
      std::string_view raw;
      if (o.raw_json().get(raw) != simdjson::SUCCESS) return "bad response_format";
      out.response_format_json = std::string(raw);
      o.reset();
      std::string_view type;
      if (o.find_field_unordered("type").get_string().get(type) != simdjson::SUCCESS)
        return "'response_format.type' is required";
      out.response_format_type = std::string(type);
    }
  }
  if (!has_messages || out.messages.empty()) return "'messages' is required and must not be empty";
  return {};
}

}  // namespace

// ---- the server ----

struct InferenceSim::State {
  explicit State(InferenceSimConfig c) : config(std::move(c)), rng(config.seed) {}

  struct Connection {
    int fd = -1;
    std::thread thread;
    std::atomic<bool> done{false};
  };

  // What one completion will be answered with, decided under the lock.
  enum class Plan : std::uint8_t { kAnswer, kFault };

  InferenceSimConfig config;
  io::LoopbackCertificates certs;
  SSL_CTX* tls = nullptr;
  std::shared_ptr<const strategies::Tokenizer> tokenizer;
  int listener = -1;
  std::uint16_t port = 0;
  std::atomic<bool> stopping{false};
  std::thread acceptor;
  std::mutex connections_mutex;
  std::list<Connection> connections;

  mutable std::mutex mutex;  // everything below
  std::mt19937_64 rng;
  MinuteBucket requests_bucket, tokens_bucket;
  std::array<std::size_t, 8> faults{};
  double error_rate = 0;
  bool insufficient_quota = false;
  SimReplyContent reply_content = SimReplyContent::kSignals;
  std::uint64_t next_id = 1;
  InferenceSimStats stats;

  ~State() { stop(); }

  InferenceSimStartResult start() {
    if (config.tls) {
      try {
        certs = io::make_loopback_certificates();
      } catch (const std::exception& e) {
        return {std::string("loopback certificates: ") + e.what()};
      }
      tls = SSL_CTX_new(TLS_server_method());
      BIO* cert_bio = BIO_new_mem_buf(certs.cert_pem.data(), static_cast<int>(certs.cert_pem.size()));
      X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
      BIO* key_bio = BIO_new_mem_buf(certs.key_pem.data(), static_cast<int>(certs.key_pem.size()));
      EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
      const bool loaded = cert != nullptr && key != nullptr && SSL_CTX_use_certificate(tls, cert) == 1 &&
                          SSL_CTX_use_PrivateKey(tls, key) == 1;
      X509_free(cert);
      EVP_PKEY_free(key);
      BIO_free(cert_bio);
      BIO_free(key_bio);
      if (!loaded) return {"cannot load the loopback certificate into OpenSSL"};
    }
    if (!config.tokenizer_dir.empty()) {
      std::string problem;
      if (const auto encoding = strategies::parse_encoding(config.encoding)) {
        tokenizer = strategies::Tokenizer::load(*encoding, config.tokenizer_dir, problem);
      }
    }
    {
      std::lock_guard lock(mutex);
      stats.exact_tokens = tokenizer != nullptr;
      requests_bucket.reset(config.rpm, now_ns());
      tokens_bucket.reset(config.tpm, now_ns());
    }
    listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listener < 0) return {std::string("socket: ") + std::strerror(errno)};
    const int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(config.port);
    if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(listener, 128) != 0) {
      const std::string error =
          "cannot listen on 127.0.0.1:" + std::to_string(config.port) + ": " + std::strerror(errno);
      ::close(listener);
      listener = -1;
      return {error};
    }
    socklen_t len = sizeof addr;
    getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    acceptor = std::thread([this] { accept_loop(); });
    return {};
  }

  void stop() {
    if (stopping.exchange(true)) return;
    if (acceptor.joinable()) acceptor.join();
    {
      std::lock_guard lock(connections_mutex);
      for (Connection& c : connections)
        if (c.fd >= 0) ::shutdown(c.fd, SHUT_RDWR);  // wakes blocked reads and writes
    }
    for (Connection& c : connections)
      if (c.thread.joinable()) c.thread.join();
    connections.clear();
    if (listener >= 0) ::close(listener);
    listener = -1;
    if (tls != nullptr) SSL_CTX_free(tls);
    tls = nullptr;
  }

  void accept_loop() {
    while (!stopping.load()) {
      pollfd p{listener, POLLIN, 0};
      if (poll(&p, 1, 50) == 1) {
        const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) {
          const int one = 1;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          std::lock_guard lock(connections_mutex);
          Connection& c = connections.emplace_back();
          c.fd = fd;
          c.thread = std::thread([this, &c] {
            serve(c);
            c.done.store(true);
          });
          std::lock_guard stats_lock(mutex);
          ++stats.connections_accepted;
          ++stats.connections_open;
        }
      }
      reap();
    }
  }

  void reap() {
    std::lock_guard lock(connections_mutex);
    for (auto it = connections.begin(); it != connections.end();) {
      if (it->done.load()) {
        it->thread.join();
        it = connections.erase(it);
      } else {
        ++it;
      }
    }
  }

  // ---- one connection ----

  struct Peer {
    int fd;
    SSL* ssl = nullptr;
    std::string in;  // received bytes not yet parsed

    bool write(std::string_view bytes) {
      while (!bytes.empty()) {
        if (ssl != nullptr) {
          const int n =
              SSL_write(ssl, bytes.data(), static_cast<int>(std::min<std::size_t>(bytes.size(), 1 << 20)));
          if (n <= 0) return false;
          bytes.remove_prefix(static_cast<std::size_t>(n));
        } else {
          const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
          if (n <= 0) return false;
          bytes.remove_prefix(static_cast<std::size_t>(n));
        }
      }
      return true;
    }
    int read(char* out, int size) {
      if (ssl != nullptr) return SSL_read(ssl, out, size);
      return static_cast<int>(::recv(fd, out, static_cast<std::size_t>(size), 0));
    }
  };

  void serve(Connection& connection) {
    const int fd = connection.fd;
    // Bounds a client that stops reading or never finishes a request; an idle keep-alive connection waits
    // for its next request up to the same bound (api.openai.com drops idle connections too).
    timeval timeout{30, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    Peer peer{fd, nullptr, {}};
    bool ok = true;
    if (tls != nullptr) {
      peer.ssl = SSL_new(tls);
      SSL_set_fd(peer.ssl, fd);
      if (SSL_accept(peer.ssl) != 1) {
        ok = false;
        std::lock_guard lock(mutex);
        ++stats.tls_failures;
      }
    }
    strategies::TokenizerScratch scratch;
    while (ok && !stopping.load()) {
      http::request_parser<http::string_body> parser;
      parser.eager(true);
      parser.header_limit(64 * 1024);
      parser.body_limit(config.max_request_bytes);
      if (!read_request(peer, parser)) break;
      ok = handle(peer, parser.get(), scratch) && parser.get().keep_alive();
    }
    if (peer.ssl != nullptr) {
      if (ok) SSL_shutdown(peer.ssl);
      SSL_free(peer.ssl);
    }
    ERR_clear_error();
    {
      // Under the lock, and forgotten, so that stop() never shuts down a descriptor number reused since.
      std::lock_guard lock(connections_mutex);
      ::close(fd);
      connection.fd = -1;
    }
    std::lock_guard lock(mutex);
    --stats.connections_open;
  }

  bool read_request(Peer& peer, http::request_parser<http::string_body>& parser) {
    for (;;) {
      if (!peer.in.empty()) {
        boost::beast::error_code ec;
        const std::size_t n = parser.put(boost::asio::buffer(peer.in.data(), peer.in.size()), ec);
        peer.in.erase(0, n);
        if (ec == http::error::body_limit) {
          respond(peer, 413,
                  error_body("Request body too large.", "invalid_request_error", std::nullopt, std::nullopt),
                  false);
          return false;
        }
        if (ec && ec != http::error::need_more) {
          respond(peer, 400,
                  error_body("Malformed HTTP request: " + ec.message(), "invalid_request_error", std::nullopt,
                             std::nullopt),
                  false);
          return false;
        }
        if (parser.is_done()) return true;
      }
      char chunk[16384];
      const int n = peer.read(chunk, sizeof chunk);
      if (n <= 0) return false;
      peer.in.append(chunk, static_cast<std::size_t>(n));
    }
  }

  // Writes a whole response; false when the connection is gone.
  bool respond(Peer& peer, unsigned status, std::string_view body, bool keep_alive,
               std::string_view extra_headers = {}, std::string_view content_type = "application/json") {
    std::string head =
        "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason_phrase(status)) + "\r\n";
    head += "Content-Type: " + std::string(content_type) + "\r\n";
    head += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    head += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
    head += extra_headers;
    head += "\r\n";
    count_status(status);
    return peer.write(head + std::string(body));
  }

  void count_status(unsigned status) {
    std::lock_guard lock(mutex);
    if (status >= 100 && status < 600) ++stats.by_status[status / 100];
    switch (status) {
      case 400:
        ++stats.status_400;
        break;
      case 401:
        ++stats.status_401;
        break;
      case 404:
        ++stats.status_404;
        break;
      case 429:
        ++stats.status_429;
        break;
      case 500:
        ++stats.status_500;
        break;
      case 503:
        ++stats.status_503;
        break;
      default:
        break;
    }
  }

  bool handle(Peer& peer, const http::request<http::string_body>& request,
              strategies::TokenizerScratch& scratch) {
    {
      std::lock_guard lock(mutex);
      ++stats.requests;
    }
    const std::string_view target(request.target().data(), request.target().size());
    const std::string_view path = target.substr(0, target.find('?'));
    const bool keep_alive = request.keep_alive();
    if (path == "/health") return respond(peer, 200, R"({"status":"ok"})", keep_alive);
    if (path == "/v1/models" || path == "/models") {
      std::string body = R"({"object":"list","data":[{"id":)";
      append_json_string(config.model, body);
      body += R"(,"object":"model","created":1700000000,"owned_by":"sigflow-sim"}]})";
      return respond(peer, 200, body, keep_alive);
    }
    if (path != "/v1/chat/completions" && path != "/chat/completions") {
      return respond(
          peer, 404,
          error_body("Invalid URL (" + std::string(request.method_string()) + " " + std::string(path) + ")",
                     "invalid_request_error", std::nullopt, std::nullopt),
          keep_alive);
    }
    if (request.method() != http::verb::post) {
      return respond(
          peer, 405,
          error_body("Only POST is allowed here.", "invalid_request_error", std::nullopt, std::nullopt),
          keep_alive);
    }
    if (!config.api_key.empty()) {
      const auto auth = request.find(http::field::authorization);
      const std::string expected = "Bearer " + config.api_key;
      if (auth == request.end() || std::string_view(auth->value().data(), auth->value().size()) != expected) {
        return respond(peer, 401,
                       error_body("Incorrect API key provided. You can find your API key at "
                                  "https://platform.openai.com/account/api-keys.",
                                  "invalid_request_error", std::nullopt, "invalid_api_key"),
                       keep_alive);
      }
    }
    return complete(peer, request.body(), keep_alive, scratch);
  }

  std::uint64_t count_tokens(std::string_view text, strategies::TokenizerScratch& scratch) const {
    if (tokenizer != nullptr) {
      const auto c = tokenizer->count(text, scratch);
      if (c.ok()) return c.tokens;
    }
    return (text.size() + 3) / 4;
  }

  std::uint64_t prompt_tokens(const ChatRequest& r, strategies::TokenizerScratch& scratch) const {
    std::uint64_t n = 0;
    if (tokenizer != nullptr) {
      std::vector<strategies::ChatMessage> messages;
      messages.reserve(r.messages.size());
      for (const auto& [role, content] : r.messages) messages.push_back({role, content, {}});
      const auto c = strategies::count_chat_tokens(*tokenizer, scratch, messages);
      n = c.ok() ? c.tokens : 0;
    } else {
      for (const auto& [role, content] : r.messages)
        n += 3 + count_tokens(role, scratch) + count_tokens(content, scratch);
      n += 3;
    }
    // The schema's rendering on the provider side is not documented; the text of response_format is what the
    // engine counts for it, so the simulator charges the same.
    if (r.response_format_type == "json_schema") n += count_tokens(r.response_format_json, scratch);
    return n;
  }

  // The first `tokens` tokens of `text` (the whole text when shorter).
  std::string truncate_tokens(const std::string& text, std::uint64_t tokens,
                              strategies::TokenizerScratch& scratch) const {
    if (tokenizer != nullptr) {
      std::vector<std::uint32_t> ids;
      if (tokenizer->encode(text, scratch, ids).ok()) {
        if (ids.size() <= tokens) return text;
        std::string out;
        for (std::uint64_t i = 0; i < tokens; ++i) out += tokenizer->token_bytes(ids[i]);
        return out;
      }
    }
    return text.substr(0, std::min<std::size_t>(text.size(), tokens * 4));
  }

  std::string ratelimit_headers() const {
    std::string h;
    if (requests_bucket.enabled()) {
      h += "x-ratelimit-limit-requests: " + std::to_string(config.rpm) + "\r\n";
      h += "x-ratelimit-remaining-requests: " +
           std::to_string(static_cast<std::uint64_t>(std::floor(requests_bucket.level))) + "\r\n";
      h += "x-ratelimit-reset-requests: " + reset_text(requests_bucket.ns_until(requests_bucket.capacity)) +
           "\r\n";
    }
    if (tokens_bucket.enabled()) {
      h += "x-ratelimit-limit-tokens: " + std::to_string(config.tpm) + "\r\n";
      h += "x-ratelimit-remaining-tokens: " +
           std::to_string(static_cast<std::uint64_t>(std::floor(tokens_bucket.level))) + "\r\n";
      h += "x-ratelimit-reset-tokens: " + reset_text(tokens_bucket.ns_until(tokens_bucket.capacity)) + "\r\n";
    }
    return h;
  }

  // OpenAI reports resets at millisecond resolution ("12ms", "6m0s", "26.604s").
  static std::string reset_text(std::int64_t ns) {
    const std::int64_t ms = (ns + 999'999) / 1'000'000;
    return format_go_duration(std::chrono::milliseconds(ms));
  }

  double sample_latency_ms() {
    if (config.latency_median_ms <= 0) return 0;
    std::normal_distribution<double> normal(0.0, 1.0);
    const double z = normal(rng);
    return std::min(config.latency_max_ms, config.latency_median_ms * std::exp(config.latency_sigma * z));
  }

  // Sleeps in slices so that stop() is not held up by a slow answer.
  bool pause_ms(double ms) {
    const auto until = Clock::now() + std::chrono::microseconds(static_cast<std::int64_t>(ms * 1000));
    while (Clock::now() < until) {
      if (stopping.load()) return false;
      std::this_thread::sleep_for(
          std::min<Clock::duration>(until - Clock::now(), std::chrono::milliseconds(20)));
    }
    return true;
  }

  // A request that is never answered: waits for the client to leave (or stop()).
  void hang(Peer& peer) {
    while (!stopping.load()) {
      pollfd p{peer.fd, POLLIN | POLLRDHUP, 0};
      if (poll(&p, 1, 50) == 1) return;
    }
  }

  // What happens to one completion, decided under the lock in the order the real service applies it: quota,
  // then rate limits, then whatever goes wrong while serving.
  struct Admission {
    std::uint64_t id = 0;
    bool quota = false;
    std::string limited_error;  // a 429 rate_limit_exceeded body, or empty
    std::string headers;        // x-ratelimit-*, x-request-id, retry-after(-ms)
    std::optional<SimFault> fault;
    double latency_ms = 0;
  };

  Admission admit(const std::string& model, std::uint64_t prompt, std::uint64_t max_completion) {
    Admission a;
    std::lock_guard lock(mutex);
    a.id = next_id++;
    const std::string request_id = "x-request-id: req_sim_" + std::to_string(a.id) + "\r\n";
    if (insufficient_quota) {
      ++stats.quota_rejected;
      a.quota = true;
      a.headers = request_id;
      return a;
    }
    const double cost = static_cast<double>(prompt + max_completion);
    const std::int64_t now = now_ns();
    requests_bucket.refill(now);
    tokens_bucket.refill(now);
    std::string message, type;
    std::int64_t wait_ns = 0;
    if (tokens_bucket.enabled() && cost > tokens_bucket.capacity) {
      // Never fits, so no retry-after: the caller must split the request (inference.md §1.4).
      type = "tokens";
      message = "Request too large for " + model +
                " in organization org-sim on tokens per min (TPM): Limit " + std::to_string(config.tpm) +
                ", Requested " + std::to_string(prompt + max_completion) +
                ". The input or output tokens must be reduced in order to run successfully.";
    } else if (requests_bucket.enabled() && requests_bucket.level < 1) {
      type = "requests";
      wait_ns = requests_bucket.ns_until(1);
      message = "Rate limit reached for " + model +
                " in organization org-sim on requests per min (RPM): Limit " + std::to_string(config.rpm) +
                ", Used " +
                std::to_string(
                    static_cast<std::uint64_t>(std::ceil(requests_bucket.capacity - requests_bucket.level))) +
                ", Requested 1. Please try again in " + reset_text(wait_ns) + ".";
    } else if (tokens_bucket.enabled() && tokens_bucket.level < cost) {
      type = "tokens";
      wait_ns = tokens_bucket.ns_until(cost);
      message = "Rate limit reached for " + model +
                " in organization org-sim on tokens per min (TPM): Limit " + std::to_string(config.tpm) +
                ", Used " +
                std::to_string(
                    static_cast<std::uint64_t>(std::ceil(tokens_bucket.capacity - tokens_bucket.level))) +
                ", Requested " + std::to_string(prompt + max_completion) + ". Please try again in " +
                reset_text(wait_ns) + ".";
    }
    if (!type.empty()) {
      ++stats.rate_limited;
      a.headers = ratelimit_headers() + request_id;
      if (wait_ns > 0) {
        const std::int64_t ms = std::max<std::int64_t>(1, (wait_ns + 999'999) / 1'000'000);
        a.headers += "retry-after: " + std::to_string((ms + 999) / 1000) + "\r\n";
        a.headers += "retry-after-ms: " + std::to_string(ms) + "\r\n";
      }
      a.limited_error = error_body(message, type, std::nullopt, "rate_limit_exceeded");
      return a;
    }
    if (requests_bucket.enabled()) requests_bucket.level -= 1;
    if (tokens_bucket.enabled()) tokens_bucket.level -= cost;
    a.headers = ratelimit_headers() + request_id;
    for (std::size_t f = 0; f < faults.size(); ++f) {
      if (faults[f] > 0) {
        --faults[f];
        a.fault = static_cast<SimFault>(f);
        break;
      }
    }
    if (!a.fault && error_rate > 0 && std::uniform_real_distribution<double>(0, 1)(rng) < error_rate)
      a.fault = SimFault::kServerError;
    if (a.fault) ++stats.injected_faults;
    a.latency_ms = sample_latency_ms();
    return a;
  }

  bool complete(Peer& peer, const std::string& body, bool keep_alive, strategies::TokenizerScratch& scratch) {
    ChatRequest request;
    if (const std::string problem = parse_chat_request(body, request); !problem.empty()) {
      return respond(peer, 400,
                     error_body("We could not parse the JSON body of your request: " + problem,
                                "invalid_request_error", std::nullopt, std::nullopt),
                     keep_alive);
    }
    const std::string model = request.model.empty() ? config.model : request.model;
    const std::uint64_t prompt = prompt_tokens(request, scratch);
    const std::uint64_t max_completion =
        request.max_completion_tokens.value_or(config.default_max_completion_tokens);
    if (prompt + max_completion > config.context_tokens) {
      return respond(
          peer, 400,
          error_body("This model's maximum context length is " + std::to_string(config.context_tokens) +
                         " tokens. However, you requested " + std::to_string(prompt + max_completion) +
                         " tokens (" + std::to_string(prompt) + " in the messages, " +
                         std::to_string(max_completion) +
                         " in the completion). Please reduce the length of the messages or completion.",
                     "invalid_request_error", "messages", "context_length_exceeded"),
          keep_alive);
    }

    const Admission admission = admit(model, prompt, max_completion);
    std::string headers = admission.headers;
    const std::optional<SimFault> fault = admission.fault;
    const double latency_ms = admission.latency_ms;
    const std::uint64_t id = admission.id;
    if (admission.quota) {
      return respond(
          peer, 429,
          error_body("You exceeded your current quota, please check your plan and billing details. For more "
                     "information on this error, read the docs: "
                     "https://platform.openai.com/docs/guides/error-codes/api-errors.",
                     "insufficient_quota", std::nullopt, "insufficient_quota"),
          keep_alive, headers);
    }
    if (!admission.limited_error.empty())
      return respond(peer, 429, admission.limited_error, keep_alive, headers);

    if (fault == SimFault::kHang) {
      {
        std::lock_guard lock(mutex);
        ++stats.hung;
      }
      hang(peer);
      return false;
    }
    if (!pause_ms(request.stream ? latency_ms * 0.3 : latency_ms)) return false;
    headers += "openai-processing-ms: " + std::to_string(static_cast<std::uint64_t>(latency_ms)) + "\r\n";
    if (fault == SimFault::kServerError) {
      return respond(peer, 500,
                     error_body("The server had an error while processing your request. Sorry about that!",
                                "server_error", std::nullopt, std::nullopt),
                     keep_alive, headers);
    }
    if (fault == SimFault::kOverloaded) {
      return respond(peer, 503,
                     error_body("The engine is currently overloaded, please try again later.", "server_error",
                                std::nullopt, std::nullopt),
                     keep_alive, headers);
    }
    if (fault == SimFault::kMalformedBody) {
      return respond(peer, 200,
                     R"({"id":"chatcmpl-sim","object":"chat.completion","choices":[{"index":0,"mess)",
                     keep_alive, headers);
    }
    if (fault == SimFault::kErrorIn200) {
      return respond(peer, 200,
                     error_body("Upstream provider error: the model returned an invalid response.",
                                "server_error", std::nullopt, "upstream_error"),
                     keep_alive, headers);
    }

    // The answer: one signal per instrument of the user messages.
    std::vector<SimSignal> signals;
    for (const auto& [role, content] : request.messages) {
      if (role != "user") continue;
      for (const PromptInstrument& instrument : parse_snapshot_lines(content))
        signals.push_back(decide(instrument, config.seed));
    }
    const bool structured =
        request.response_format_type == "json_schema" || request.response_format_type == "json_object";
    SimReplyContent reply_content;
    {
      std::lock_guard lock(mutex);
      reply_content = this->reply_content;
    }
    if (reply_content == SimReplyContent::kUnknownPairs)
      for (SimSignal& signal : signals) signal.pair = "NOPE" + signal.pair;
    std::string content = structured ? render_structured(signals) : render_lines(signals);
    if (reply_content == SimReplyContent::kInvalidEntries) {
      for (std::string_view action : {"BUY", "SELL", "HOLD"})
        for (std::size_t at = content.find(action); at != std::string::npos;
             at = content.find(action, at + 5))
          content.replace(at, action.size(), "MAYBE");
    } else if (reply_content == SimReplyContent::kPlainText) {
      content =
          "Looking at these order books, I would lean bullish on the majors, but markets are uncertain.";
    } else if (reply_content == SimReplyContent::kNoSignals) {
      content = structured ? R"({"signals":[]})" : "";
    } else if (reply_content == SimReplyContent::kRefusal) {
      content.clear();
    }
    const bool refusal = reply_content == SimReplyContent::kRefusal;
    std::uint64_t completion = count_tokens(content, scratch);
    std::string_view finish = "stop";
    if (completion > max_completion || fault == SimFault::kFinishLength) {
      const std::uint64_t keep =
          fault == SimFault::kFinishLength ? std::min(max_completion, completion / 2) : max_completion;
      content = truncate_tokens(content, keep, scratch);
      completion = keep;
      finish = "length";
    }
    {
      std::lock_guard lock(mutex);
      ++stats.completions;
      stats.streams += request.stream ? 1 : 0;
      stats.prompt_tokens += prompt;
      stats.completion_tokens += completion;
      stats.instruments_answered += signals.size();
    }
    const std::string completion_id = "chatcmpl-sim" + std::to_string(id);
    const std::string created = std::to_string(static_cast<long long>(std::time(nullptr)));
    std::string usage =
        R"({"prompt_tokens":)" + std::to_string(prompt) + R"(,"completion_tokens":)" +
        std::to_string(completion) + R"(,"total_tokens":)" + std::to_string(prompt + completion) +
        R"(,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}})";
    std::string head_fields = R"({"id":")" + completion_id + R"(","object":"chat.completion)";

    if (!request.stream) {
      std::string out = head_fields + R"(","created":)" + created + R"(,"model":)";
      append_json_string(model, out);
      out +=
          R"(,"system_fingerprint":"fp_sim","choices":[{"index":0,"message":{"role":"assistant","content":)";
      if (refusal) {
        out += R"(null,"refusal":"I'm sorry, but I can't help with trading decisions.")";
        out += R"(},"logprobs":null,"finish_reason":")";
      } else {
        append_json_string(content, out);
        out += R"(,"refusal":null},"logprobs":null,"finish_reason":")";
      }
      out += finish;
      out += R"("}],"usage":)" + usage + "}";
      if (fault == SimFault::kCloseMidResponse) {
        count_status(200);
        std::string whole = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                            std::to_string(out.size()) + "\r\n" + headers + "\r\n" + out;
        peer.write(std::string_view(whole).substr(0, whole.size() - out.size() / 2));
        return false;
      }
      return respond(peer, 200, out, keep_alive, headers);
    }

    // Streaming: chunked SSE, one event per HTTP chunk.
    count_status(200);
    std::string head =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nTransfer-Encoding: chunked\r\n";
    head += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
    head += headers;
    head += "\r\n";
    if (!peer.write(head)) return false;
    std::string chunk_prefix = head_fields + R"(.chunk","created":)" + created + R"(,"model":)";
    append_json_string(model, chunk_prefix);
    chunk_prefix += R"(,"system_fingerprint":"fp_sim","choices":)";
    const auto event = [&](std::string_view json) {
      const std::string data = "data: " + std::string(json) + "\n\n";
      char size[24];
      std::snprintf(size, sizeof size, "%zx\r\n", data.size());
      return peer.write(std::string(size) + data + "\r\n");
    };
    if (!event(
            chunk_prefix +
            R"([{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]})"))
      return false;
    const std::size_t step = std::max<std::size_t>(1, config.stream_chunk_chars);
    const std::size_t pieces = (content.size() + step - 1) / step;
    const double per_piece_ms = pieces > 0 ? latency_ms * 0.7 / static_cast<double>(pieces) : 0;
    std::size_t sent_pieces = 0;
    for (std::size_t at = 0; at < content.size(); at += step) {
      if (fault == SimFault::kMidStreamError && sent_pieces == 2) {
        event(error_body("The server had an error while processing your request. Sorry about that!",
                         "server_error", std::nullopt, std::nullopt));
        return peer.write("0\r\n\r\n") && keep_alive;
      }
      if (fault == SimFault::kCloseMidResponse && sent_pieces == 2) return false;
      if (!pause_ms(per_piece_ms)) return false;
      std::string json = chunk_prefix + R"([{"index":0,"delta":{"content":)";
      append_json_string(std::string_view(content).substr(at, step), json);
      json += R"(},"logprobs":null,"finish_reason":null}]})";
      if (!event(json)) return false;
      ++sent_pieces;
    }
    if (!event(chunk_prefix + R"([{"index":0,"delta":{},"logprobs":null,"finish_reason":")" +
               std::string(finish) + R"("}]})"))
      return false;
    if (request.include_usage && !event(chunk_prefix + R"([],"usage":)" + usage + "}")) return false;
    if (!event("[DONE]")) return false;
    return peer.write("0\r\n\r\n");
  }
};

InferenceSim::InferenceSim(InferenceSimConfig config) : state_(std::make_unique<State>(std::move(config))) {}
InferenceSim::~InferenceSim() = default;

InferenceSimStartResult InferenceSim::start() {
  return state_->start();
}
void InferenceSim::stop() {
  state_->stop();
}
std::uint16_t InferenceSim::port() const {
  return state_->port;
}
const std::string& InferenceSim::ca_pem() const {
  return state_->certs.ca_pem;
}
std::string InferenceSim::base_url() const {
  return std::string(state_->config.tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(state_->port) +
         "/v1";
}
InferenceSimStats InferenceSim::stats() const {
  std::lock_guard lock(state_->mutex);
  return state_->stats;
}
void InferenceSim::inject(SimFault fault, std::size_t count) {
  std::lock_guard lock(state_->mutex);
  state_->faults[static_cast<std::size_t>(fault)] += count;
}
void InferenceSim::set_error_rate(double fraction) {
  std::lock_guard lock(state_->mutex);
  state_->error_rate = std::clamp(fraction, 0.0, 1.0);
}
void InferenceSim::set_insufficient_quota(bool on) {
  std::lock_guard lock(state_->mutex);
  state_->insufficient_quota = on;
}
void InferenceSim::set_reply_content(SimReplyContent content) {
  std::lock_guard lock(state_->mutex);
  state_->reply_content = content;
}
void InferenceSim::set_latency(double median_ms, double sigma) {
  std::lock_guard lock(state_->mutex);
  state_->config.latency_median_ms = median_ms;
  state_->config.latency_sigma = sigma;
}
void InferenceSim::set_limits(std::uint64_t rpm, std::uint64_t tpm) {
  std::lock_guard lock(state_->mutex);
  state_->config.rpm = rpm;
  state_->config.tpm = tpm;
  state_->requests_bucket.reset(rpm, now_ns());
  state_->tokens_bucket.reset(tpm, now_ns());
}

}  // namespace sigflow::tools
