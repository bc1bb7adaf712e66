#include "engine/app/inference_thread.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <stdexcept>

#include "engine/app/strategy_thread.hpp"
#include "engine/clock.hpp"
#include "io/event_loop.hpp"
#include "strategies/prompt/reply_format.hpp"

namespace sigflow::app {
namespace {

// The loop wakes at least this often to look at the prompt channel: the strategy pushes at most one batch
// per 50 ms cycle, so 2 ms adds little to a reply's latency and costs 500 wake-ups a second.
constexpr std::int64_t kMaxIdleNs = 2'000'000;

void append_number(std::int64_t value, std::string& out) {
  char buffer[24];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  (void)ec;
  out.append(buffer, end);
}

// Unusable replies are logged once per reason per this long, with a snippet of this many bytes.
constexpr std::int64_t kUnusableLogIntervalNs = 10'000'000'000;
constexpr std::size_t kUnusableSnippetBytes = 120;
// The failure explanation on the status line is cut to this many bytes.
constexpr std::size_t kStatusErrorBytes = 80;

io::InferenceClientConfig client_config(const engine::InferenceConfig& c) {
  io::InferenceClientConfig out;
  out.rpm = c.rpm;
  out.tpm = c.tpm;
  out.max_in_flight = static_cast<std::uint32_t>(c.max_in_flight);
  // Enough queued work to keep every connection busy through a cycle, no more: what waits longer than a
  // few cycles describes a market that has moved on.
  out.max_queued = static_cast<std::uint32_t>(std::max<std::int64_t>(2, c.max_in_flight * 2));
  out.request_timeout_ns = c.request_timeout_ms * 1'000'000;
  // A reply later than the view's ttl after its prompt is of little use; the merger drops stale ones.
  out.job_max_age_ns = std::max<std::int64_t>(c.ttl_ms, c.request_timeout_ms) * 1'000'000;
  out.stream = c.stream;
  return out;
}

}  // namespace

struct InferenceThread::Job {
  bool used = false;
  std::uint64_t id = 0;
  std::int64_t created_ns = 0;
  std::vector<PromptItemHeader> items;
  std::vector<std::uint32_t> offsets;  // of each item's line in text
  std::string text;
};

InferenceThread::InferenceThread(InferenceThreadOptions options)
    : options_(std::move(options)),
      prompts_(options_.prompt_ring_bytes, 1024),
      replies_(options_.reply_records),
      counters_(std::make_unique<InferenceThreadCounters>()) {
  if (!options_.tokenizer) throw std::invalid_argument("inference: no tokenizer");
  io::InferenceClientConfig cc = client_config(options_.config);
  cc.error_log = options_.log;
  client_ = std::make_unique<io::InferenceClient>(cc, static_cast<io::ChatRequestSource&>(*this));
  // Every queued and in-flight request belongs to a job, so this many job records always suffice.
  for (std::uint32_t i = 0; i < cc.max_queued + cc.max_in_flight + 1; ++i) {
    jobs_.push_back(std::make_unique<Job>());
    jobs_.back()->items.reserve(options_.budget.max_instruments_per_chunk);
    jobs_.back()->offsets.reserve(options_.budget.max_instruments_per_chunk);
    jobs_.back()->text.reserve(static_cast<std::size_t>(options_.config.prompt_token_budget) * 4);
  }
  pair_views_.reserve(options_.budget.max_instruments_per_chunk);
}

InferenceThread::~InferenceThread() {
  stop();
}

void InferenceThread::start(const engine::ThreadConfig& thread) {
  std::string error;
  if (!io::parse_chat_endpoint(options_.config.base_url, endpoint_, error))
    throw engine::ConfigError("inference.base_url: " + error);
  // The key would cross the network in clear text: only with the endpoint's explicit flag (also checked
  // when the file is read; this covers configs built in code).
  if (endpoint_.origin.plaintext && !options_.config.allow_insecure)
    throw engine::ConfigError("inference.base_url: plaintext http:// needs allow_insecure = true");
  endpoint_.origin.request_timeout_ns = options_.config.request_timeout_ms * 1'000'000;
  endpoint_.origin.first_byte_timeout_ns = endpoint_.origin.request_timeout_ns;
  // Providers close idle keep-alive connections after a few seconds; closing first avoids sending into one
  // that is being closed.
  endpoint_.origin.idle_timeout_ns = 4'000'000'000;
  if (!endpoint_.origin.plaintext) {
    io::TlsOptions tls;
    tls.ca_file = options_.config.ca_file;
    tls.ca_pem = options_.ca_pem;
    tls_ = io::TlsContext::create(tls, error);
    if (!tls_) throw engine::ConfigError("inference.ca_file: " + error);
  }
  stop_.store(false, std::memory_order_release);
  thread_ = engine::PinnedThread("inference", thread, [this] { run(); });
}

void InferenceThread::stop() {
  stop_.store(true, std::memory_order_release);
  thread_.join();
}

void InferenceThread::run() {
  std::unique_ptr<io::EventLoop> loop;
  try {
    loop = std::make_unique<io::EventLoop>();
  } catch (const std::exception& e) {
    // The engine goes on with its local model; the strategy sees no free slots and never waits on us.
    std::fprintf(stderr, "sigflow: inference thread cannot start its event loop: %s\n", e.what());
    return;
  }
  io::HttpChatTransport transport(*loop, tls_.get(), endpoint_, options_.api_key.view(),
                                  static_cast<std::size_t>(options_.config.max_in_flight),
                                  options_.config.stream, client_->transport_events());
  client_->set_transport(transport);
  std::int64_t now = engine::monotonic_ns();
  while (!stop_.load(std::memory_order_acquire)) {
    now = engine::monotonic_ns();
    take_prompts(now);
    const std::int64_t wake = client_->poll(now, engine::wall_ns());
    residual_.store(correction_.residual(), std::memory_order_relaxed);
    loop->run_once(std::clamp<std::int64_t>(wake - now, 0, kMaxIdleNs));
  }
  client_->shutdown(engine::monotonic_ns());
}

InferenceThread::Job* InferenceThread::find_job(std::uint64_t id) noexcept {
  for (auto& job : jobs_)
    if (job->used && job->id == id) return job.get();
  return nullptr;
}

void InferenceThread::push(const ReplyRecord& record) noexcept {
  if (!replies_.push(record)) counters_->reply_channel_full.add();
}

void InferenceThread::take_prompts(std::int64_t now_ns) {
  prompts_.consume(
      [&](const engine::FrameView& frame) {
        PromptJobHeader header;
        std::string_view bytes = frame.bytes;
        if (bytes.size() < sizeof header) {
          counters_->jobs_malformed.add();
          return;
        }
        std::memcpy(&header, bytes.data(), sizeof header);
        bytes.remove_prefix(sizeof header);
        counters_->jobs_received.add();
        Job* job = nullptr;
        for (auto& j : jobs_)
          if (!j->used) {
            job = j.get();
            break;
          }
        ReplyRecord done;
        done.kind = ReplyRecord::Kind::kJobDone;
        done.job = header.job;
        if (!job) {
          push(done);
          return;
        }
        job->items.clear();
        job->offsets.clear();
        job->text.clear();
        for (std::uint32_t i = 0; i < header.items; ++i) {
          PromptItemHeader item;
          if (bytes.size() < sizeof item) break;
          std::memcpy(&item, bytes.data(), sizeof item);
          bytes.remove_prefix(sizeof item);
          if (bytes.size() < item.line_size || item.pair_size > item.line_size) break;
          job->offsets.push_back(static_cast<std::uint32_t>(job->text.size()));
          job->text.append(bytes.substr(0, item.line_size));
          job->items.push_back(item);
          bytes.remove_prefix(item.line_size);
        }
        if (job->items.size() != header.items || header.items == 0) {
          counters_->jobs_malformed.add();
          push(done);
          return;
        }
        job->used = true;
        job->id = header.job;
        job->created_ns = header.created_ns;
        if (!client_->submit(header.job, header.items, now_ns)) {
          job->used = false;
          push(done);
        }
      },
      64);
}

std::span<const std::string_view> InferenceThread::pairs_of(const Job& job, std::uint32_t first,
                                                            std::uint32_t count) {
  pair_views_.clear();
  for (std::uint32_t k = first; k < first + count && k < job.items.size(); ++k)
    pair_views_.push_back(std::string_view(job.text).substr(job.offsets[k], job.items[k].pair_size));
  return pair_views_;
}

io::RequestCost InferenceThread::write_request(std::uint64_t job_id, std::uint32_t first, std::uint32_t count,
                                               std::string& body) {
  const engine::InferenceConfig& c = options_.config;
  body.clear();
  user_.clear();
  response_format_.clear();
  io::RequestCost cost;
  const Job* job = find_job(job_id);
  if (!job) return cost;  // cannot happen: the client only asks for jobs it holds
  for (std::uint32_t k = first; k < first + count && k < job->items.size(); ++k)
    user_.append(std::string_view(job->text).substr(job->offsets[k], job->items[k].line_size));
  if (c.structured_outputs)
    strategies::append_response_format(pairs_of(*job, first, count), response_format_);

  const std::int64_t max_completion = std::min<std::int64_t>(
      c.max_completion_tokens,
      static_cast<std::int64_t>(options_.budget.completion_tokens_base +
                                options_.budget.completion_tokens_per_instrument * count));
  body += R"({"model":)";
  strategies::append_json_string(c.model, body);
  body += c.max_completion_tokens_field ? R"(,"max_completion_tokens":)" : R"(,"max_tokens":)";
  append_number(max_completion, body);
  body += R"(,"temperature":0,"n":1,"messages":[{"role":"system","content":)";
  strategies::append_json_string(strategies::system_message(), body);
  body += R"(},{"role":"user","content":)";
  strategies::append_json_string(user_, body);
  body += "}]";
  if (c.structured_outputs) {
    body += R"(,"response_format":)";
    body += response_format_;
  }
  if (c.stream) body += R"(,"stream":true,"stream_options":{"include_usage":true})";
  body += '}';

  const strategies::ChatMessage messages[2] = {{"system", strategies::system_message(), {}},
                                               {"user", user_, {}}};
  std::size_t estimate = strategies::count_chat_tokens(*options_.tokenizer, scratch_, messages).tokens;
  if (c.structured_outputs) estimate += options_.tokenizer->count(response_format_, scratch_).tokens;
  cost.estimated_prompt_tokens = static_cast<std::int64_t>(estimate);
  cost.prompt_tokens = static_cast<std::int64_t>(correction_.corrected(estimate));
  cost.max_completion_tokens = max_completion;
  return cost;
}

void InferenceThread::on_reply(std::uint64_t job_id, std::uint32_t first, std::uint32_t count,
                               const io::ChatCompletion& reply, const io::RequestCost& cost,
                               std::int64_t now_ns) {
  if (reply.has_usage)
    correction_.observe(static_cast<std::size_t>(cost.estimated_prompt_tokens), reply.usage.prompt_tokens);
  const Job* job = find_job(job_id);
  if (!job) return;
  counters_->replies_parsed.add();
  const strategies::ReplyStatus status = parser_.parse(pairs_of(*job, first, count), reply.content, false);
  const strategies::ReplyCounts& rc = parser_.counts();
  counters_->unknown_pairs.add(rc.unknown);
  counters_->duplicate_pairs.add(rc.duplicate);
  counters_->invalid_entries.add(rc.invalid);
  counters_->clamped_confidences.add(rc.clamped);
  std::optional<UnusableReply> unusable;
  if (status == strategies::ReplyStatus::kEmpty) {
    unusable = UnusableReply::kEmpty;
  } else if (status != strategies::ReplyStatus::kOk) {
    unusable = UnusableReply::kNotReplyFormat;
  } else if (parser_.entries().empty()) {
    unusable = rc.unknown > 0       ? UnusableReply::kUnknownPairs
               : rc.invalid > 0     ? UnusableReply::kInvalidEntries
               : rc.noise_lines > 0 ? UnusableReply::kNotReplyFormat
                                    : UnusableReply::kNoSignals;
  }
  if (unusable) {
    on_unusable(*unusable, reply.content, now_ns);
    counters_->abstained.add(count);
    return;
  }
  unusable_since_ns_.store(0, std::memory_order_relaxed);
  for (const strategies::ReplyEntry& e : parser_.entries()) {
    ReplyRecord r;
    r.kind = ReplyRecord::Kind::kEntry;
    r.job = job_id;
    r.instrument = job->items[first + e.instrument].instrument;
    r.action = e.action;
    r.confidence = e.confidence;
    r.reason_size = static_cast<std::uint8_t>(std::min(e.summary.size(), sizeof r.reason));
    std::memcpy(r.reason, e.summary.data(), r.reason_size);
    push(r);
    counters_->entries.add();
  }
  counters_->abstained.add(parser_.missing().size());
}

void InferenceThread::on_items_failed(std::uint64_t, std::uint32_t, std::uint32_t count, io::ItemsFailure why,
                                      std::int64_t now_ns) {
  counters_->items_failed.add(count);
  if (why == io::ItemsFailure::kRefused) on_unusable(UnusableReply::kRefusal, {}, now_ns);
}

void InferenceThread::on_unusable(UnusableReply reason, std::string_view content, std::int64_t now_ns) {
  counters_->replies_unusable.add();
  const auto r = static_cast<std::size_t>(reason);
  counters_->unusable_by_reason[r].add();
  std::int64_t expected = 0;
  unusable_since_ns_.compare_exchange_strong(expected, now_ns, std::memory_order_relaxed);
  if (!options_.log) return;
  // Once per reason per kUnusableLogIntervalNs, with how many were not logged since.
  if (unusable_logged_ns_[r] != 0 && now_ns - unusable_logged_ns_[r] < kUnusableLogIntervalNs) {
    ++unusable_suppressed_[r];
    return;
  }
  std::string snippet;
  io::append_provider_text(snippet, content, kUnusableSnippetBytes);
  if (content.size() > kUnusableSnippetBytes) snippet += "...";
  const std::string_view name = to_string(reason);
  std::fprintf(options_.log, "inference: unusable reply (%.*s): \"%s\"", static_cast<int>(name.size()),
               name.data(), snippet.c_str());
  if (unusable_suppressed_[r] > 0)
    std::fprintf(options_.log, " (and %llu more since the last report)",
                 static_cast<unsigned long long>(unusable_suppressed_[r]));
  std::fputc('\n', options_.log);
  std::fflush(options_.log);
  unusable_logged_ns_[r] = now_ns;
  unusable_suppressed_[r] = 0;
}

std::int64_t InferenceThread::unusable_for_ns(std::int64_t now_ns) const noexcept {
  const std::int64_t since = unusable_since_ns_.load(std::memory_order_relaxed);
  return since == 0 ? 0 : std::max<std::int64_t>(1, now_ns - since);
}

std::string_view to_string(UnusableReply reason) noexcept {
  switch (reason) {
    case UnusableReply::kEmpty:
      return "empty";
    case UnusableReply::kNotReplyFormat:
      return "not_reply_format";
    case UnusableReply::kNoSignals:
      return "no_signals";
    case UnusableReply::kUnknownPairs:
      return "unknown_pairs";
    case UnusableReply::kInvalidEntries:
      return "invalid_entries";
    case UnusableReply::kRefusal:
      return "refusal";
  }
  return "unknown";
}

void InferenceThread::on_job_done(std::uint64_t job_id, std::int64_t) {
  if (Job* job = find_job(job_id)) job->used = false;
  ReplyRecord done;
  done.kind = ReplyRecord::Kind::kJobDone;
  done.job = job_id;
  push(done);
}

bool read_api_key(const engine::InferenceConfig& config, engine::SecretBytes& key, std::string& problem) {
  key.clear();
  const char* value = std::getenv(config.api_key_env.c_str());
  if (!value) {
    problem = "environment variable " + config.api_key_env + " is not set";
    return false;
  }
  const std::string_view text(value);
  if (text.empty()) {
    problem = "environment variable " + config.api_key_env + " is empty";
    return false;
  }
  for (const char c : text) {
    // White space or a control character would corrupt the header (or smuggle another one in).
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      problem = "environment variable " + config.api_key_env + " contains white space or control characters";
      return false;
    }
  }
  key.assign(text);
  return true;
}

strategies::PromptBudget prompt_budget(const engine::InferenceConfig& config) {
  strategies::PromptBudget budget;
  budget.prompt_token_budget = static_cast<std::size_t>(config.prompt_token_budget);
  const auto completion = static_cast<std::size_t>(config.max_completion_tokens);
  const std::size_t base = budget.completion_tokens_base;
  const std::size_t per = budget.completion_tokens_per_instrument;
  budget.max_instruments_per_chunk =
      std::clamp<std::size_t>(completion > base ? (completion - base) / per : 1, 1, 100);
  return budget;
}

std::unique_ptr<InferenceThread> make_inference(const engine::Config& config, StrategyThread& strategy,
                                                const std::string& data_dir, const std::string& extra_ca_pem,
                                                std::FILE* log) {
  const engine::InferenceConfig& c = config.inference;
  if (!c.enabled) return nullptr;
  auto say = [&](const std::string& why) {
    if (log)
      std::fprintf(log, "sigflow: inference off, signals from the local model only: %s\n", why.c_str());
  };
  InferenceThreadOptions options;
  options.config = c;
  std::string problem;
  if (!read_api_key(c, options.api_key, problem)) {
    say(problem);
    return nullptr;
  }
  const auto encoding = strategies::parse_encoding(c.encoding);
  if (!encoding) {
    say("unknown encoding " + c.encoding);
    return nullptr;
  }
  options.tokenizer = strategies::Tokenizer::load(*encoding, data_dir, problem);
  if (!options.tokenizer) {
    say(problem);
    return nullptr;
  }
  options.ca_pem = extra_ca_pem;
  options.log = log;
  options.budget = prompt_budget(c);
  const strategies::PromptBudget budget = options.budget;
  auto inference = std::make_unique<InferenceThread>(std::move(options));
  strategies::SignalMergerConfig merger;
  merger.ttl_ns = c.ttl_ms * 1'000'000;
  merger.stale_move_bps = c.stale_move_bps;
  merger.model = c.model;
  merger.max_wait_ns = 2 * (c.request_timeout_ms + c.ttl_ms) * 1'000'000;
  strategy.attach_inference(*inference, inference->tokenizer(), budget, std::move(merger));
  return inference;
}

std::string inference_status_text(const InferenceThread& inference, std::int64_t now_ns) {
  const io::InferenceClient& client = inference.client();
  switch (client.breaker().state()) {
    case engine::BreakerState::closed:
      return inference.unusable_for_ns(now_ns) >= kUnusableStatusAfterNs ? "unusable" : "up";
    case engine::BreakerState::half_open:
      return "probing";
    case engine::BreakerState::open:
      break;
  }
  std::string text = "breaker-open";
  const std::string why = client.last_error();
  if (!why.empty()) {
    // The status line is one line a second: the first words of the explanation, the log has all of it.
    text += " (";
    text += why.size() > kStatusErrorBytes ? why.substr(0, kStatusErrorBytes) + "..." : why;
    text += ')';
  }
  return text;
}

void add_inference_status(engine::StatusLine& status, const InferenceThread& inference,
                          const StrategyThread& strategy) {
  const io::InferenceClient& client = inference.client();
  const io::InferenceCounters& ic = client.counters();
  status.add_text("llm", [&inference] { return inference_status_text(inference, engine::monotonic_ns()); });
  status.add_rate("llm_req", [&ic] { return ic.requests.load(); });
  status.add_total("llm_429", [&ic] { return ic.http_429.load(); });
  status.add_total("llm_retries", [&ic] { return ic.retries.load(); });
  status.add_total("llm_tokens", [&ic] { return ic.prompt_tokens.load() + ic.completion_tokens.load(); });
  if (const strategies::SignalMerger* merger = strategy.merger()) {
    status.add_rate("llm_signals", [merger] { return merger->counters().llm_signals.load(); });
    status.add_total("llm_stale", [merger] { return merger->counters().replies_stale.load(); });
  }
}

}  // namespace sigflow::app
