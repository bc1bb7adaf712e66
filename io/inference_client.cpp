#include "io/inference_client.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <functional>
#include <mutex>

namespace sigflow::io {
namespace {

// OpenAI's RPM and TPM limits are per minute; x-ratelimit-limit-* gives the count, not the window.
constexpr std::int64_t kLimitWindowNs = 60'000'000'000;

std::optional<std::int64_t> parse_count(std::optional<std::string_view> text) {
  if (!text) return std::nullopt;
  std::string_view s = *text;
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || value < 0) return std::nullopt;
  return value;
}

// llama.cpp and OpenRouter put the HTTP status they meant into error.code ("502"); an error inside a 200
// is classified by that status, since the 200 itself says nothing.
int status_from_code(std::string_view code, int fallback) {
  int value = 0;
  const auto [end, ec] = std::from_chars(code.data(), code.data() + code.size(), value);
  if (ec == std::errc() && end == code.data() + code.size() && value >= 400 && value < 600) return value;
  return fallback;
}

engine::BreakerCause breaker_cause(const engine::FailedResponse& f) {
  if (f.status == 401) return engine::BreakerCause::unauthorized;
  if (f.status == 403) return engine::BreakerCause::forbidden;
  return engine::BreakerCause::insufficient_quota;
}

}  // namespace

std::string_view to_string(ItemsFailure failure) noexcept {
  switch (failure) {
    case ItemsFailure::kExpired:
      return "expired";
    case ItemsFailure::kRejected:
      return "rejected";
    case ItemsFailure::kRetriesExhausted:
      return "retries_exhausted";
    case ItemsFailure::kTooLarge:
      return "too_large";
    case ItemsFailure::kRefused:
      return "refused";
    case ItemsFailure::kShutdown:
      break;
  }
  return "shutdown";
}

struct InferenceClient::Slot {
  SlotState state = SlotState::kFree;
  std::uint64_t job = 0;
  std::uint32_t first = 0;
  std::uint32_t count = 0;
  std::uint64_t tag = 0;
  std::uint64_t order = 0;  // FIFO among requests ready at the same time
  std::int64_t ready_at_ns = 0;
  std::int64_t sent_ns = 0;      // in flight: when the request was handed to the transport
  std::int64_t deadline_ns = 0;  // in flight: the request timeout
  std::uint32_t retries = 0;
  bool body_written = false;
  bool breaker_refused = false;  // this attempt was already counted as refused by the open breaker
  RequestCost cost;
  std::string body;

  // The response in progress.
  int status = 0;
  engine::ServerDelay server_delay{engine::ServerDelayKind::none, 0};
  std::string response;  // a buffered body (completion or error)
  SseParser sse;
  bool stream_done = false;
  bool stream_malformed = false;
  bool stream_error = false;
  ChatCompletion completion;
  ChatChunk chunk;
  ProviderError error;

  void reset_response() {
    status = 0;
    server_delay = {engine::ServerDelayKind::none, 0};
    response.clear();
    sse.reset();
    stream_done = false;
    stream_malformed = false;
    stream_error = false;
    completion.clear();
    error.clear();
  }
};

InferenceClient::InferenceClient(const InferenceClientConfig& config, ChatRequestSource& source)
    : config_(config),
      source_(source),
      rpm_(std::max<std::int64_t>(1, config.rpm), kLimitWindowNs),
      tpm_(std::max<std::int64_t>(1, config.tpm), kLimitWindowNs),
      limits_(std::max<std::uint32_t>(1, config.max_in_flight)),
      breaker_(config.breaker),
      backoff_(config.seed),
      counters_(std::make_unique<InferenceCounters>()) {
  config_.max_in_flight = std::max<std::uint32_t>(1, config_.max_in_flight);
  config_.max_queued = std::max<std::uint32_t>(1, config_.max_queued);
  // Every queued job may split into halves while others are in flight; twice the queue plus the in-flight
  // cap leaves room for a split without refusing it.
  const std::size_t n = std::size_t{config_.max_queued} * 2 + config_.max_in_flight;
  slots_.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    slots_.push_back(std::make_unique<Slot>());
    slots_.back()->body.reserve(16 << 10);
    slots_.back()->response.reserve(4 << 10);
  }
  jobs_.resize(n);
  free_slots_.store(config_.max_queued, std::memory_order_relaxed);
  tokens_available_.store(tpm_.available(0), std::memory_order_relaxed);
}

InferenceClient::~InferenceClient() = default;

InferenceClient::Slot* InferenceClient::find_in_flight(std::uint64_t tag) noexcept {
  for (auto& slot : slots_)
    if (slot->state == SlotState::kInFlight && slot->tag == tag) return slot.get();
  return nullptr;
}

InferenceClient::Slot* InferenceClient::free_slot() noexcept {
  for (auto& slot : slots_)
    if (slot->state == SlotState::kFree) return slot.get();
  return nullptr;
}

InferenceClient::Job* InferenceClient::find_job(std::uint64_t id) noexcept {
  for (Job& job : jobs_)
    if (job.used && job.id == id) return &job;
  return nullptr;
}

bool InferenceClient::submit(std::uint64_t job_id, std::uint32_t items, std::int64_t now_ns) {
  std::uint32_t queued = 0;
  for (const auto& slot : slots_) queued += slot->state == SlotState::kQueued;
  Slot* slot = queued < config_.max_queued && items > 0 ? free_slot() : nullptr;
  Job* job = nullptr;
  if (slot) {
    for (Job& j : jobs_)
      if (!j.used) {
        job = &j;
        break;
      }
  }
  if (!slot || !job || find_job(job_id)) {
    counters_->jobs_refused.add();
    return false;
  }
  *job = Job{job_id, 1, now_ns + config_.job_max_age_ns, true};
  slot->state = SlotState::kQueued;
  slot->job = job_id;
  slot->first = 0;
  slot->count = items;
  slot->order = next_order_++;
  slot->ready_at_ns = now_ns;
  slot->retries = 0;
  slot->body_written = false;
  slot->breaker_refused = false;
  counters_->jobs_submitted.add();
  publish(now_ns);
  return true;
}

std::int64_t InferenceClient::poll(std::int64_t now_ns, std::int64_t wall_ns) {
  wall_ns_ = wall_ns;
  for (auto& s : slots_) {
    Slot& slot = *s;
    if (slot.state == SlotState::kInFlight && now_ns >= slot.deadline_ns) {
      if (transport_) transport_->cancel(slot.tag);
      finish_in_flight(slot);
      counters_->timeouts.add();
      engine::FailedResponse timeout;
      timeout.transport_error = true;
      transport_what_ = "no response within the request timeout";
      slot.server_delay = {engine::ServerDelayKind::none, 0};
      fail(slot, timeout, now_ns);
    }
  }
  for (auto& s : slots_) {
    Slot& slot = *s;
    if (slot.state != SlotState::kQueued) continue;
    const Job* job = find_job(slot.job);
    if (job && now_ns >= job->deadline_ns) give_up(slot, ItemsFailure::kExpired, now_ns);
  }

  std::int64_t wake = engine::kNeverNs;
  while (now_ns >= hold_until_ns_) {
    Slot* next = nullptr;
    for (auto& s : slots_) {
      Slot& slot = *s;
      if (slot.state != SlotState::kQueued || slot.ready_at_ns > now_ns) continue;
      if (!next || slot.order < next->order) next = &slot;
    }
    if (!next) break;
    if (!try_send(*next, now_ns)) {
      // The head request waits for the limits or the breaker: later ones wait behind it, so that a large
      // request is not starved by a stream of small ones.
      if (next->state == SlotState::kQueued) {
        std::int64_t at = engine::kNeverNs;
        const auto tokens = next->cost.prompt_tokens + next->cost.max_completion_tokens;
        const auto r = rpm_.check(1, now_ns);
        const auto t = tpm_.check(tokens, now_ns);
        if (!r.granted() || !t.granted()) at = std::max(r.ready_at_ns, t.ready_at_ns);
        if (breaker_.state() == engine::BreakerState::open) at = std::min(at, breaker_.open_until_ns());
        if (breaker_.state() == engine::BreakerState::half_open) at = std::min(at, now_ns + 10'000'000);
        wake = std::min(wake, std::max(at, now_ns + 1));
      }
      break;
    }
  }
  for (const auto& s : slots_) {
    const Slot& slot = *s;
    if (slot.state == SlotState::kInFlight) wake = std::min(wake, slot.deadline_ns);
    if (slot.state == SlotState::kQueued) {
      // A ready request that did not go is held by the limits or the breaker: the head's wake covers it.
      const std::int64_t ready = std::max(slot.ready_at_ns, hold_until_ns_);
      if (ready > now_ns) wake = std::min(wake, ready);
      if (const Job* job = find_job(slot.job)) wake = std::min(wake, std::max(job->deadline_ns, now_ns + 1));
    }
  }
  publish(now_ns);
  return wake;
}

bool InferenceClient::try_send(Slot& slot, std::int64_t now_ns) {
  if (!slot.body_written) {
    slot.cost = source_.write_request(slot.job, slot.first, slot.count, slot.body);
    slot.body_written = true;
  }
  const std::int64_t tokens = slot.cost.prompt_tokens + slot.cost.max_completion_tokens;
  if (tokens > tpm_.capacity()) {
    split(slot, now_ns);  // no wait can ever grant it
    return true;
  }
  if (!rpm_.check(1, now_ns).granted() || !tpm_.check(tokens, now_ns).granted() ||
      limits_.in_flight() >= config_.max_in_flight) {
    counters_->limiter_waits.add();
    return false;
  }
  if (!breaker_.allow(now_ns)) {
    // Counted once per request held back, not once per poll that finds the breaker still open.
    if (!slot.breaker_refused) counters_->breaker_refusals.add();
    slot.breaker_refused = true;
    return false;
  }
  const engine::LimitCharge charges[2] = {{&rpm_, 1}, {&tpm_, tokens}};
  if (!limits_.try_acquire(charges, now_ns).granted()) {  // checked above; defensive only
    counters_->limiter_waits.add();
    return false;
  }
  slot.reset_response();
  slot.breaker_refused = false;
  slot.tag = next_tag_++;
  slot.state = SlotState::kInFlight;
  slot.sent_ns = now_ns;
  slot.deadline_ns = now_ns + config_.request_timeout_ns;
  counters_->requests.add();
  if (!transport_ || !transport_->post(slot.tag, slot.body, config_.request_timeout_ns)) {
    finish_in_flight(slot);
    counters_->transport_failures.add();
    engine::FailedResponse failure;
    failure.transport_error = true;
    fail(slot, failure, now_ns);
  }
  return true;
}

void InferenceClient::finish_in_flight(Slot& slot) noexcept {
  limits_.release();
  slot.state = SlotState::kQueued;  // the caller decides what happens next
}

void InferenceClient::correct_limits(const ResponseHeaders& headers, std::int64_t now_ns) {
  struct Pair {
    engine::GcraLimiter* limiter;
    std::string_view limit;
    std::string_view remaining;
    std::string_view reset;
  };
  const Pair pairs[2] = {
      {&rpm_, "x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests"},
      {&tpm_, "x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens"}};
  for (const Pair& p : pairs) {
    // A configured limit above the key's real one would earn a 429 per window: adopt the server's. A larger
    // server limit is left alone, since the operator may have set a share of the key on purpose.
    if (auto limit = parse_count(headers.find(p.limit));
        limit && *limit > 0 && *limit < p.limiter->capacity()) {
      *p.limiter = engine::GcraLimiter(*limit, kLimitWindowNs);
      counters_->limits_from_headers.add();
    }
    if (auto remaining = parse_count(headers.find(p.remaining))) {
      std::int64_t reset_ns = 0;
      if (auto reset = headers.find(p.reset)) reset_ns = engine::parse_ratelimit_reset_ns(*reset).value_or(0);
      p.limiter->observe_remaining(*remaining, reset_ns, now_ns);
      counters_->remaining_corrections.add();
    }
  }
}

void InferenceClient::on_response_head(std::uint64_t tag, int status, const ResponseHeaders& headers,
                                       std::int64_t now_ns) {
  Slot* slot = find_in_flight(tag);
  if (!slot) return;
  slot->status = status;
  correct_limits(headers, now_ns);
  slot->server_delay =
      engine::retry_delay(headers.find("retry-after-ms"), headers.find("retry-after"), wall_ns_);
}

void InferenceClient::on_response_body(std::uint64_t tag, std::string_view bytes, std::int64_t) {
  Slot* slot = find_in_flight(tag);
  if (!slot) return;
  const bool streaming = config_.stream && slot->status >= 200 && slot->status < 300;
  if (!streaming) {
    slot->response.append(bytes);
    return;
  }
  while (!bytes.empty() && !slot->stream_done) {
    SseEvent event;
    const SseResult r = slot->sse.feed(bytes, event);
    bytes.remove_prefix(r.consumed);
    if (r.status == SseStatus::kEventTooLarge) {
      slot->stream_malformed = true;
      return;
    }
    if (r.status != SseStatus::kEvent) break;
    if (event.done) {
      slot->stream_done = true;
      break;
    }
    if (slot->stream_error) continue;
    switch (decoder_.decode_chunk(event.data, slot->chunk, slot->error)) {
      case DecodeStatus::kOk:
        append_chunk(slot->chunk, slot->completion);
        break;
      case DecodeStatus::kProviderError:
        slot->stream_error = true;
        break;
      case DecodeStatus::kMalformed:
        slot->stream_malformed = true;
        break;
    }
  }
}

void InferenceClient::on_response_end(std::uint64_t tag, std::int64_t now_ns) {
  Slot* slot = find_in_flight(tag);
  if (!slot) return;
  counters_->round_trip.record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, now_ns - slot->sent_ns)));
  finish_in_flight(*slot);
  complete(*slot, now_ns);
}

void InferenceClient::on_transport_failure(std::uint64_t tag, std::string_view what, std::int64_t now_ns) {
  Slot* slot = find_in_flight(tag);
  if (!slot) return;
  transport_what_ = what;
  finish_in_flight(*slot);
  counters_->transport_failures.add();
  engine::FailedResponse failure;
  failure.transport_error = true;
  slot->server_delay = {engine::ServerDelayKind::none, 0};
  fail(*slot, failure, now_ns);
}

void InferenceClient::complete(Slot& slot, std::int64_t now_ns) {
  engine::FailedResponse failure;
  if (slot.status < 200 || slot.status >= 300) {
    decoder_.decode_error(slot.status, slot.response, slot.error);
    failure.status = slot.status;
    failure.type = slot.error.type;
    failure.code = slot.error.code;
    failure.message = slot.error.message;
    fail(slot, failure, now_ns);
    return;
  }
  bool malformed = false;
  bool provider_error = false;
  if (config_.stream) {
    SseEvent event;
    if (!slot.stream_done && slot.sse.finish(event) == SseStatus::kEvent && !event.done &&
        !slot.stream_error) {
      switch (decoder_.decode_chunk(event.data, slot.chunk, slot.error)) {
        case DecodeStatus::kOk:
          append_chunk(slot.chunk, slot.completion);
          break;
        case DecodeStatus::kProviderError:
          slot.stream_error = true;
          break;
        case DecodeStatus::kMalformed:
          slot.stream_malformed = true;
          break;
      }
    }
    provider_error = slot.stream_error;
    // A stream cut before its finish_reason (and without [DONE]) is an incomplete answer.
    malformed =
        !provider_error && (slot.stream_malformed ||
                            (slot.completion.finish_reason == FinishReason::kNone && !slot.stream_done));
  } else {
    switch (decoder_.decode_completion(slot.response, slot.completion, slot.error)) {
      case DecodeStatus::kOk:
        break;
      case DecodeStatus::kProviderError:
        provider_error = true;
        break;
      case DecodeStatus::kMalformed:
        // vLLM before 0.16 answers some failures with a 200 whose body is its top-level error shape.
        provider_error =
            decoder_.decode_error(200, slot.response, slot.error) == DecodeStatus::kProviderError;
        malformed = !provider_error;
        break;
    }
  }
  if (provider_error) {
    counters_->provider_errors_in_200.add();
    failure.status = status_from_code(slot.error.code, 500);
    failure.type = slot.error.type;
    failure.code = slot.error.code;
    failure.message = slot.error.message;
    fail(slot, failure, now_ns);
    return;
  }
  if (malformed) {
    // A garbled 200 is the server's fault and may well not repeat: retried like a dropped connection.
    counters_->malformed.add();
    failure.transport_error = true;
    transport_what_ = "a 2xx body that is neither a completion nor an error";
    fail(slot, failure, now_ns);
    return;
  }

  breaker_.on_success(now_ns);
  counters_->responses_ok.add();
  const ChatCompletion& c = slot.completion;
  const std::int64_t prompt = c.has_usage ? c.usage.prompt_tokens : slot.cost.prompt_tokens;
  counters_->prompt_tokens.add(static_cast<std::uint64_t>(prompt));
  counters_->completion_tokens.add(c.has_usage ? c.usage.completion_tokens : 0);
  // The server counted input we did not (template, schema rendering): charge the difference now. Output below
  // the reserved max_completion_tokens cannot be handed back to a GCRA limiter, which errs on the safe side.
  if (c.has_usage && prompt > slot.cost.prompt_tokens) tpm_.debit(prompt - slot.cost.prompt_tokens, now_ns);

  if (c.finish_reason == FinishReason::kLength) {
    counters_->truncated.add();
    split(slot, now_ns);
    return;
  }
  if (c.content.empty() && !c.refusal.empty()) {
    counters_->refusals.add();
    give_up(slot, ItemsFailure::kRefused, now_ns);
    return;
  }
  source_.on_reply(slot.job, slot.first, slot.count, c, slot.cost, now_ns);
  counters_->items_replied.add(slot.count);
  release(slot, now_ns);
}

void InferenceClient::fail(Slot& slot, const engine::FailedResponse& f, std::int64_t now_ns) {
  explain(f, now_ns);
  if (!f.transport_error) {
    if (f.status == 429)
      counters_->http_429.add();
    else if (f.status >= 500)
      counters_->http_5xx.add();
    else if (f.status >= 400)
      counters_->http_4xx.add();
  }
  switch (engine::classify_failure(f)) {
    case engine::RetryAction::retry: {
      // 429 and 409 say "not now", not "broken": only outages count towards opening the breaker.
      if (f.transport_error || f.status >= 500 || f.status == 408) breaker_.on_failure(now_ns);
      const engine::ServerDelay delay = slot.server_delay;
      if (delay.kind == engine::ServerDelayKind::too_long) {
        breaker_.open_now(engine::BreakerCause::retry_after_too_long, now_ns, delay.delay_ns);
        retry_later(slot, 0, now_ns);
        return;
      }
      if (slot.retries >= config_.max_retries) {
        give_up(slot, ItemsFailure::kRetriesExhausted, now_ns);
        return;
      }
      if (delay.kind == engine::ServerDelayKind::delay) {
        // The limit belongs to the key, so the server's delay applies to every request we have.
        if (now_ns + delay.delay_ns > hold_until_ns_) {
          hold_until_ns_ = now_ns + delay.delay_ns;
          counters_->server_delay_holds.add();
        }
      }
      retry_later(slot, engine::next_retry_delay_ns(delay, backoff_, slot.retries), now_ns);
      return;
    }
    case engine::RetryAction::split_chunk:
      split(slot, now_ns);
      return;
    case engine::RetryAction::open_breaker:
      breaker_.open_now(breaker_cause(f), now_ns);
      retry_later(slot, 0, now_ns);  // held by the breaker until a probe succeeds, or dropped at expiry
      return;
    case engine::RetryAction::do_not_retry:
      give_up(slot, ItemsFailure::kRejected, now_ns);
      return;
  }
}

void append_provider_text(std::string& out, std::string_view text, std::size_t max) {
  const std::size_t start = out.size();
  bool mask_word = false;
  for (std::size_t i = 0; i < text.size() && out.size() - start < max; ++i) {
    const char c = text[i];
    const bool space = static_cast<unsigned char>(c) <= 0x20 || c == 0x7f;
    if (space) {
      mask_word = false;
      if (out.size() > start && out.back() != ' ') out += ' ';
      continue;
    }
    const bool word_start = i == 0 || static_cast<unsigned char>(text[i - 1]) <= 0x20;
    if (word_start && (text.substr(i).starts_with("sk-") || text.substr(i).starts_with("sk_"))) {
      out += "sk-***";
      mask_word = true;
      continue;
    }
    if (mask_word) continue;
    out += c;
    if (out.size() - start >= 6 && std::string_view(out).substr(out.size() - 6) == "Bearer") {
      out += " ***";
      mask_word = true;
      while (i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) <= 0x20) ++i;
    }
  }
  while (out.size() > start && out.back() == ' ') out.pop_back();
}

std::string describe_failure(const engine::FailedResponse& f, std::string_view transport_what) {
  std::string out;
  if (f.transport_error) {
    out = "transport: ";
    append_provider_text(out, transport_what.empty() ? std::string_view("no response") : transport_what,
                         kMaxErrorTextBytes);
    return out;
  }
  out = std::to_string(f.status);
  const std::string_view kind = !f.type.empty() ? f.type : f.code;
  if (!kind.empty()) {
    out += ' ';
    append_provider_text(out, kind, 64);
  }
  if (f.message.empty()) {
    if (kind.empty()) out += " (no error body)";
    return out;
  }
  out += ": ";
  append_provider_text(out, f.message, kMaxErrorTextBytes);
  return out;
}

std::string InferenceClient::last_error() const {
  std::lock_guard lock(last_error_mutex_);
  return last_error_;
}

void InferenceClient::explain(const engine::FailedResponse& f, std::int64_t now_ns) {
  std::string text = describe_failure(f, transport_what_);
  transport_what_.clear();
  {
    // A failure, not a message: the lock is taken once per failed request, and by the status thread
    // once per second.
    std::lock_guard lock(last_error_mutex_);
    last_error_ = text;
  }
  if (!config_.error_log) return;
  // Once per distinct error per minute: a provider failing every request must not flood the log.
  const std::size_t key = std::hash<std::string>{}(text);
  ErrorLogEntry* entry = nullptr;
  ErrorLogEntry* oldest = &error_log_[0];
  for (ErrorLogEntry& e : error_log_) {
    if (e.key == key && e.logged_ns != 0) entry = &e;
    if (e.logged_ns < oldest->logged_ns) oldest = &e;
  }
  if (entry && now_ns - entry->logged_ns < kErrorLogIntervalNs) {
    ++entry->suppressed;
    return;
  }
  if (!entry) {
    entry = oldest;
    *entry = ErrorLogEntry{key, 0, 0};
  }
  if (entry->suppressed > 0) {
    std::fprintf(config_.error_log,
                 "inference: request failed: %s (and %llu more like it in the last minute)\n", text.c_str(),
                 static_cast<unsigned long long>(entry->suppressed));
  } else {
    std::fprintf(config_.error_log, "inference: request failed: %s\n", text.c_str());
  }
  std::fflush(config_.error_log);
  entry->logged_ns = now_ns;
  entry->suppressed = 0;
}

void InferenceClient::retry_later(Slot& slot, std::int64_t delay_ns, std::int64_t now_ns) {
  slot.state = SlotState::kQueued;
  slot.ready_at_ns = now_ns + delay_ns;
  ++slot.retries;
  counters_->retries.add();
}

void InferenceClient::split(Slot& slot, std::int64_t now_ns) {
  Slot* other = slot.count > 1 ? free_slot() : nullptr;
  Job* job = find_job(slot.job);
  if (!other || !job) {
    give_up(slot, ItemsFailure::kTooLarge, now_ns);
    return;
  }
  counters_->splits.add();
  const std::uint32_t half = slot.count / 2;
  other->state = SlotState::kQueued;
  other->job = slot.job;
  other->first = slot.first + half;
  other->count = slot.count - half;
  other->order = slot.order;
  other->ready_at_ns = now_ns;
  other->retries = 0;
  other->body_written = false;
  other->breaker_refused = false;
  slot.state = SlotState::kQueued;
  slot.count = half;
  slot.ready_at_ns = now_ns;
  slot.retries = 0;
  slot.body_written = false;
  ++job->outstanding;
}

void InferenceClient::give_up(Slot& slot, ItemsFailure why, std::int64_t now_ns) {
  if (why == ItemsFailure::kExpired) counters_->jobs_expired.add();
  counters_->items_failed.add(slot.count);
  source_.on_items_failed(slot.job, slot.first, slot.count, why, now_ns);
  release(slot, now_ns);
}

void InferenceClient::release(Slot& slot, std::int64_t now_ns) {
  slot.state = SlotState::kFree;
  Job* job = find_job(slot.job);
  if (!job) return;
  if (--job->outstanding == 0) {
    job->used = false;
    counters_->jobs_done.add();
    source_.on_job_done(job->id, now_ns);
  }
}

void InferenceClient::shutdown(std::int64_t now_ns) {
  for (auto& s : slots_) {
    Slot& slot = *s;
    if (slot.state == SlotState::kInFlight) {
      if (transport_) transport_->cancel(slot.tag);
      finish_in_flight(slot);
    }
    if (slot.state == SlotState::kQueued) give_up(slot, ItemsFailure::kShutdown, now_ns);
  }
  publish(now_ns);
}

void InferenceClient::publish(std::int64_t now_ns) noexcept {
  std::uint32_t queued = 0;
  std::int64_t reserved = 0;
  for (const auto& s : slots_) {
    if (s->state != SlotState::kQueued) continue;
    ++queued;
    if (s->body_written) reserved += s->cost.prompt_tokens + s->cost.max_completion_tokens;
  }
  // Room is also bounded by what RPM grants now: a job queued behind the limiter describes an older market
  // than one the strategy plans a cycle later.
  const std::int64_t room =
      std::min<std::int64_t>(std::int64_t{config_.max_queued} - queued, rpm_.available(now_ns) - queued);
  free_slots_.store(static_cast<std::uint32_t>(std::max<std::int64_t>(0, room)), std::memory_order_relaxed);
  tokens_available_.store(std::max<std::int64_t>(0, tpm_.available(now_ns) - reserved),
                          std::memory_order_relaxed);
}

}  // namespace sigflow::io
