#pragma once
// HttpChatTransport: the InferenceClient's requests over the HTTP/1.1 keep-alive pool (io/http_client) to
// an OpenAI-compatible endpoint, on the inference thread's EventLoop.
//
// The API key is held here and nowhere else: it is written once into the `Authorization: Bearer` header
// value, kept in a page excluded from core dumps (engine::SecretBytes), and handed only to the HTTP client,
// which puts header values on the wire and never in errors or counters. Nothing in this file prints or
// formats it.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/secret_bytes.hpp"
#include "io/event_loop.hpp"
#include "io/http_client.hpp"
#include "io/inference_client.hpp"
#include "io/tls_session.hpp"

namespace sigflow::io {

// https://host[:port][/path] or http://… (plaintext: loopback simulators only). The chat completions
// target is path + "/chat/completions".
struct ChatEndpoint {
  HttpOriginConfig origin;
  std::string target;
};

// Parses base_url; false with `error` set (naming what is wrong, never a secret) when it is unusable.
bool parse_chat_endpoint(std::string_view base_url, ChatEndpoint& out, std::string& error);

class HttpChatTransport final : public ChatTransport {
 public:
  // `tls` may be null for a plaintext origin; loop, tls and events must outlive the transport.
  HttpChatTransport(EventLoop& loop, const TlsContext* tls, const ChatEndpoint& endpoint,
                    std::string_view api_key, std::size_t connections, bool stream,
                    ChatTransportEvents& events);
  ~HttpChatTransport() override;

  bool post(std::uint64_t tag, std::string_view body, std::int64_t timeout_ns) override;
  void cancel(std::uint64_t tag) override;

  HttpClientTotals http_counters() const noexcept { return pool_.counters(); }

 private:
  class Exchange;

  std::string target_;
  engine::SecretBytes authorization_;  // "Bearer <key>"
  bool stream_;
  ChatTransportEvents& events_;
  HttpPool pool_;
  std::vector<std::unique_ptr<Exchange>> exchanges_;
};

}  // namespace sigflow::io
