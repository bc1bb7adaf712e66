#include "io/websocket_client.hpp"

#include <openssl/rand.h>
#include <wslay/wslay.h>

#include <algorithm>
#include <cstring>

namespace sigflow::io {
namespace {

// 1024 masking keys per CSPRNG call: RAND_bytes runs once every 1024 frames sent, never per frame.
constexpr std::size_t kMaskPoolBytes = 4096;
// RFC 6455 §5.5: a control frame carries at most 125 bytes, two of which are a close frame's code.
constexpr std::size_t kMaxCloseReason = 123;
// Room for the typical message that straddles two reads (depth updates, trades: well under 64 KiB).
constexpr std::size_t kInitialSpillBytes = 64 * 1024;

std::string close_code_meaning(std::uint16_t code) {
  switch (code) {
    case WSLAY_CODE_PROTOCOL_ERROR:
      return "1002 protocol error";
    case WSLAY_CODE_INVALID_FRAME_PAYLOAD_DATA:
      return "1007 invalid UTF-8 in a text message";
    case WSLAY_CODE_MESSAGE_TOO_BIG:
      return "1009 message too big";
    default:
      return std::to_string(code);
  }
}

std::string milliseconds(std::int64_t ns) {
  return std::to_string(ns / 1'000'000) + " ms";
}

}  // namespace

// wslay calls plain C functions with a user pointer; these forward to the client's members.
struct WslayCallbacks {
  static WebSocketClient& self(void* user) { return *static_cast<WebSocketClient*>(user); }

  static ssize_t recv(wslay_event_context_ptr, uint8_t* buf, size_t len, int, void* user) {
    return self(user).read_input(buf, len);
  }
  static ssize_t send(wslay_event_context_ptr, const uint8_t* data, size_t len, int, void* user) {
    return self(user).write_output(data, len);
  }
  static int genmask(wslay_event_context_ptr, uint8_t* buf, size_t len, void* user) {
    return self(user).make_mask(buf, len);
  }
  static void frame_start(wslay_event_context_ptr, const wslay_event_on_frame_recv_start_arg* arg,
                          void* user) {
    self(user).on_frame_start(arg->fin != 0, arg->opcode, arg->payload_length);
  }
  static void frame_chunk(wslay_event_context_ptr, const wslay_event_on_frame_recv_chunk_arg* arg,
                          void* user) {
    self(user).on_frame_chunk(arg->data, arg->data_length);
  }
  static void frame_end(wslay_event_context_ptr, void* user) { self(user).on_frame_end(); }

  // With buffering off this is still called for every message, but only control messages carry their
  // payload: a close's code and reason, a pong. Data messages were handled chunk by chunk already.
  static void message(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg, void* user) {
    WebSocketClient& client = self(user);
    switch (arg->opcode) {
      case WSLAY_PING:
        client.counters_.pings_answered.add();
        break;
      case WSLAY_PONG:
        client.counters_.pongs_received.add();
        break;
      case WSLAY_CONNECTION_CLOSE:
        client.close_code_received_ = arg->status_code;
        // A close we did not start is worth a line in the log even when it is "normal": the venue
        // decided to drop us (maintenance, 24 h connection limit, slow consumer).
        if (client.state_ != WebSocketClient::State::kClosing) {
          client.error_ = arg->status_code == 0
                              ? std::string("server closed the connection without a close code")
                              : "server closed the connection with code " + std::to_string(arg->status_code);
          if (arg->msg_length > 2) {
            client.error_.append(": ").append(reinterpret_cast<const char*>(arg->msg) + 2,
                                              arg->msg_length - 2);
          }
        }
        break;
      default:
        break;
    }
  }
};

WebSocketClient::WebSocketClient(WebSocketConfig config, engine::FrameRing& ring,
                                 WebSocketOpenListener* listener)
    : config_(std::move(config)),
      ring_(ring),
      listener_(listener),
      mask_pool_(new std::uint8_t[kMaskPoolBytes]),
      mask_pool_used_(kMaskPoolBytes) {
  spill_.reserve(kInitialSpillBytes);
}

WebSocketClient::~WebSocketClient() {
  free_context();
}

void WebSocketClient::free_context() {
  if (ctx_ != nullptr) wslay_event_context_free(ctx_);
  ctx_ = nullptr;
}

void WebSocketClient::on_transport_open(ByteSink& out, std::int64_t now_ns) {
  free_context();
  error_.clear();
  in_message_ = false;
  message_rejected_ = false;
  message_bytes_ = 0;
  close_code_sent_ = 0;
  close_code_received_ = 0;
  close_sent_ns_ = 0;
  opened_ns_ = last_rx_ns_ = last_ping_ns_ = now_ns;

  const std::string request = handshake_.start(UpgradeRequest{
      .host = config_.host,
      .target = config_.target,
      .user_agent = config_.user_agent,
      .extra_headers = config_.extra_headers,
  });
  if (request.empty()) {
    fail(std::string(handshake_.error()));
    return;
  }
  state_ = State::kHandshaking;
  out.write(request);
}

bool WebSocketClient::on_bytes(std::string_view in, std::int64_t recv_ns, ByteSink& out) {
  last_rx_ns_ = recv_ns;
  switch (state_) {
    case State::kHandshaking:
      switch (handshake_.feed(in)) {
        case UpgradeHandshake::Status::kNeedMore:
          return true;
        case UpgradeHandshake::Status::kFailed:
          counters_.protocol_errors.add();
          return fail(std::string(handshake_.error()));
        case UpgradeHandshake::Status::kUpgraded:
          return open_websocket(recv_ns, out);
      }
      return false;
    case State::kOpen:
    case State::kClosing:
      return receive(in, recv_ns, out);
    case State::kFailed:
      return false;
    case State::kIdle:
    case State::kClosed:
      // After the close handshake the peer has nothing more to say; whatever it sends is ignored.
      return true;
  }
  return false;
}

bool WebSocketClient::open_websocket(std::int64_t now_ns, ByteSink& out) {
  static constexpr wslay_event_callbacks kCallbacks{
      WslayCallbacks::recv,        WslayCallbacks::send,        WslayCallbacks::genmask,
      WslayCallbacks::frame_start, WslayCallbacks::frame_chunk, WslayCallbacks::frame_end,
      WslayCallbacks::message,
  };
  free_context();
  if (wslay_event_context_client_init(&ctx_, &kCallbacks, this) != 0) {
    ctx_ = nullptr;
    return fail("wslay_event_context_client_init: out of memory");
  }
  wslay_event_config_set_no_buffering(ctx_, 1);
  // With buffering off wslay compares each frame's length with this; whole messages are summed in
  // on_frame_start.
  wslay_event_config_set_max_recv_msg_length(ctx_, config_.max_message_bytes);
  state_ = State::kOpen;
  last_ping_ns_ = now_ns;
  if (listener_ != nullptr) listener_->on_websocket_open(*this, now_ns);
  if (state_ != State::kOpen) return after_io(out);  // the listener closed it straight away
  // The bytes that came with the 101 are the start of the WebSocket stream.
  return receive(handshake_.websocket_bytes(), now_ns, out);
}

bool WebSocketClient::receive(std::string_view in, std::int64_t recv_ns, ByteSink& out) {
  input_ = in;
  input_recv_ns_ = recv_ns;
  const int rv = wslay_event_recv(ctx_);
  input_ = {};
  if (rv != 0) {
    // wslay's frame layer refused the bytes (a control frame over 125 bytes or fragmented, a 64-bit length
    // with the top bit set) and queued a close without a code; send it, then fail.
    counters_.protocol_errors.add();
    flush(out);
    return fail(rv == WSLAY_ERR_NOMEM ? std::string("wslay_event_recv: out of memory")
                                      : "server sent a malformed WebSocket frame (wslay error " +
                                            std::to_string(rv) + "); sent close");
  }
  return after_io(out);
}

// Sends what the last step queued (pongs, a close reply, our messages) and works out the state.
bool WebSocketClient::after_io(ByteSink& out) {
  if (!flush(out)) return false;
  if (wslay_event_get_close_received(ctx_) != 0) {
    if (wslay_event_get_close_sent(ctx_) != 0) state_ = State::kClosed;
    return true;
  }
  if (wslay_event_get_read_enabled(ctx_) == 0) {
    // wslay stops reading only when it refused a frame (or we did, for size) and queued a close for it.
    counters_.protocol_errors.add();
    if (error_.empty() && close_code_sent_ == WSLAY_CODE_MESSAGE_TOO_BIG) {
      error_ = "server sent a frame longer than max_message_bytes " +
               std::to_string(config_.max_message_bytes) + "; sent close 1009";
    } else if (error_.empty()) {
      error_ = "server broke the WebSocket protocol; sent close " + close_code_meaning(close_code_sent_);
    }
    state_ = State::kFailed;
    return false;
  }
  return true;
}

bool WebSocketClient::flush(ByteSink& out) {
  if (ctx_ == nullptr) return state_ != State::kFailed;
  output_ = &out;
  const int rv = wslay_event_send(ctx_);
  output_ = nullptr;
  if (rv != 0) return fail("wslay_event_send failed with " + std::to_string(rv));
  if (close_code_sent_ == 0 && wslay_event_get_close_sent(ctx_) != 0) {
    close_code_sent_ = wslay_event_get_status_code_sent(ctx_);
  }
  return true;
}

bool WebSocketClient::on_tick(std::int64_t now_ns, ByteSink& out) {
  switch (state_) {
    case State::kHandshaking:
      if (now_ns - opened_ns_ > config_.handshake_timeout_ns) {
        return fail("no upgrade response within " + milliseconds(config_.handshake_timeout_ns));
      }
      return true;
    case State::kOpen:
      if (config_.silence_timeout_ns > 0 && now_ns - last_rx_ns_ > config_.silence_timeout_ns) {
        // Try to say goodbye; the transport is probably dead, so nothing waits for the answer.
        static constexpr std::string_view kReason = "silent connection";
        wslay_event_queue_close(ctx_, WSLAY_CODE_GOING_AWAY, reinterpret_cast<const uint8_t*>(kReason.data()),
                                kReason.size());
        flush(out);
        return fail("silent connection: no bytes for " + milliseconds(now_ns - last_rx_ns_));
      }
      if (config_.ping_interval_ns > 0 && now_ns - last_ping_ns_ >= config_.ping_interval_ns) {
        last_ping_ns_ = now_ns;
        ++ping_sequence_;
        std::uint8_t payload[sizeof(ping_sequence_)];
        std::memcpy(payload, &ping_sequence_, sizeof(payload));
        const wslay_event_msg ping{WSLAY_PING, payload, sizeof(payload)};
        wslay_event_queue_msg(ctx_, &ping);
      }
      return after_io(out);
    case State::kClosing:
      if (close_sent_ns_ == 0) close_sent_ns_ = now_ns;  // close() has no clock: the timer starts here
      if (now_ns - close_sent_ns_ > config_.close_timeout_ns) {
        return fail("server did not answer our close within " + milliseconds(config_.close_timeout_ns));
      }
      return after_io(out);
    case State::kFailed:
      return false;
    case State::kIdle:
    case State::kClosed:
      return true;
  }
  return false;
}

void WebSocketClient::on_transport_closed() {
  switch (state_) {
    case State::kHandshaking:
      if (handshake_.on_eof() == UpgradeHandshake::Status::kFailed) {
        counters_.protocol_errors.add();
        error_ = handshake_.error();
      }
      break;
    case State::kOpen:
    case State::kClosing:
      if (error_.empty()) error_ = "transport closed without a WebSocket close handshake";
      break;
    case State::kIdle:
    case State::kClosed:
    case State::kFailed:
      break;
  }
  free_context();
  in_message_ = false;
  state_ = State::kIdle;
}

bool WebSocketClient::finished() const {
  return state_ == State::kClosed;
}

bool WebSocketClient::send_text(std::string_view text) {
  if (state_ != State::kOpen) return false;
  const wslay_event_msg msg{WSLAY_TEXT_FRAME, reinterpret_cast<const uint8_t*>(text.data()), text.size()};
  return wslay_event_queue_msg(ctx_, &msg) == 0;
}

bool WebSocketClient::send_text(std::string_view text, ByteSink& out) {
  return send_text(text) && flush(out);
}

bool WebSocketClient::close(std::uint16_t code, std::string_view reason, ByteSink& out) {
  if (state_ != State::kOpen) return false;
  reason = reason.substr(0, kMaxCloseReason);
  if (wslay_event_queue_close(ctx_, code, reinterpret_cast<const uint8_t*>(reason.data()), reason.size()) !=
      0) {
    return false;
  }
  state_ = State::kClosing;
  return after_io(out);
}

bool WebSocketClient::fail(std::string message) {
  error_ = std::move(message);
  state_ = State::kFailed;
  return false;
}

std::ptrdiff_t WebSocketClient::read_input(std::uint8_t* buf, std::size_t len) {
  if (input_.empty()) {
    wslay_event_set_error(ctx_, WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  const std::size_t n = std::min(len, input_.size());
  std::memcpy(buf, input_.data(), n);
  input_.remove_prefix(n);
  return static_cast<std::ptrdiff_t>(n);
}

std::ptrdiff_t WebSocketClient::write_output(const std::uint8_t* data, std::size_t len) {
  if (output_ == nullptr) {
    wslay_event_set_error(ctx_, WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  output_->write(std::string_view(reinterpret_cast<const char*>(data), len));
  return static_cast<std::ptrdiff_t>(len);
}

int WebSocketClient::make_mask(std::uint8_t* buf, std::size_t len) {
  if (len > kMaskPoolBytes) return -1;
  if (mask_pool_used_ + len > kMaskPoolBytes) {
    if (RAND_bytes(mask_pool_.get(), static_cast<int>(kMaskPoolBytes)) != 1) return -1;
    mask_pool_used_ = 0;
  }
  std::memcpy(buf, mask_pool_.get() + mask_pool_used_, len);
  mask_pool_used_ += len;
  return 0;
}

void WebSocketClient::on_frame_start(bool fin, std::uint8_t opcode, std::uint64_t payload_length) {
  frame_opcode_ = opcode;
  frame_fin_ = fin;
  if (wslay_is_ctrl_frame(opcode)) return;  // may arrive between the fragments of a message
  if (opcode != WSLAY_CONTINUATION_FRAME) {
    // The message is stamped with the receive time of the bytes that completed its first frame header.
    in_message_ = true;
    message_rejected_ = false;
    message_bytes_ = 0;
    message_recv_ns_ = input_recv_ns_;
    // Several connections of one feed thread share its ring, and the ring has one frame in progress, so a
    // message may be built in the ring only if it is certain to be committed before this call returns:
    // an unfragmented frame whose payload is already here (the part wslay has not read yet suffices).
    // Anything else (the frame at the end of a read, a fragmented message) is gathered in the spill
    // buffer and copied into the ring when complete.
    spilling_ = !(fin && payload_length <= input_.size());
    if (spilling_) {
      spill_.clear();
    } else {
      ring_.begin(config_.connection_id, message_recv_ns_);
      // Reserves the padding even for an empty message, so that commit never writes past free space.
      ring_.append(std::string_view("", 0));  // non-null: the ring memcpy()s from it
    }
  }
  message_bytes_ += payload_length;
  if (!message_rejected_ && message_bytes_ > config_.max_message_bytes) {
    message_rejected_ = true;
    static constexpr std::string_view kReason = "message too big";
    wslay_event_queue_close(ctx_, WSLAY_CODE_MESSAGE_TOO_BIG,
                            reinterpret_cast<const uint8_t*>(kReason.data()), kReason.size());
    wslay_event_shutdown_read(ctx_);
    error_ = "message of at least " + std::to_string(message_bytes_) + " bytes exceeds max_message_bytes " +
             std::to_string(config_.max_message_bytes) + "; sent close 1009";
  }
}

void WebSocketClient::on_frame_chunk(const std::uint8_t* data, std::size_t len) {
  if (wslay_is_ctrl_frame(frame_opcode_) || message_rejected_ || len == 0) return;
  const std::string_view chunk(reinterpret_cast<const char*>(data), len);
  if (spilling_) {
    // Grows to the largest straddling message (bounded by max_message_bytes), then is reused.
    spill_.append(chunk);
  } else {
    // A failed append poisons the frame, so commit fails and the drop is counted once, at the end.
    ring_.append(chunk);
  }
}

void WebSocketClient::on_frame_end() {
  if (wslay_is_ctrl_frame(frame_opcode_) || !frame_fin_ || !in_message_) return;
  in_message_ = false;
  if (message_rejected_) return;
  counters_.messages.add();
  counters_.bytes.add(message_bytes_);
  if (observer_)
    observer_->on_websocket_message(*this, spilling_ ? std::string_view(spill_) : ring_.pending(),
                                    message_recv_ns_);
  const bool delivered =
      spilling_ ? ring_.push(config_.connection_id, message_recv_ns_, spill_) : ring_.commit();
  if (!delivered) counters_.drops.add();
}

}  // namespace sigflow::io
