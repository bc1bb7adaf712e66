#pragma once
// InferenceThread: the pinned thread that asks the language model. It owns its io_uring EventLoop, the
// HTTP/1.1 keep-alive pool to the provider and the InferenceClient (limits, retries, breaker), and talks
// to the strategy thread through two single-producer/single-consumer channels only:
//
//   strategy ──PromptChannel (FrameRing: one job per frame: header + snapshot lines)──▶ inference
//   strategy ◀──ReplyChannel (spsc_queue of fixed-size records)─────────────────────── inference
//
// A job is one planned prompt chunk. The inference thread writes the request body (model, system + user
// messages, temperature 0, max_tokens, the chunk's json_schema with its pair ids as the enum, stream
// options) with exact prompt token counts, parses each reply with ReplyParser (unknown and duplicate pairs
// dropped and counted, confidence clamped, missing pairs abstain) and sends back one record per valid entry,
// then one kJobDone record. What the strategy thread needs for planning (queue room, tokens the TPM limiter
// could grant, the learned prompt-token residual) is published in relaxed atomics.
#include <boost/lockfree/spsc_queue.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/config.hpp"
#include "engine/counter.hpp"
#include "engine/frame_ring.hpp"
#include "engine/pinned_thread.hpp"
#include "engine/secret_bytes.hpp"
#include "engine/status_line.hpp"
#include "io/inference/http_chat_transport.hpp"
#include "io/inference_client.hpp"
#include "io/tls_session.hpp"
#include "strategies/prompt/prompt_planner.hpp"
#include "strategies/reply_parser.hpp"
#include "strategies/signal.hpp"
#include "strategies/tokenizer/chat_tokens.hpp"
#include "strategies/tokenizer/tokenizer.hpp"

namespace sigflow::app {

// ---- the prompt channel's frame layout (both ends are this process, so plain PODs) ----
struct PromptJobHeader {
  std::uint64_t job = 0;
  std::int64_t created_ns = 0;
  std::uint32_t items = 0;
  std::uint32_t reserved = 0;
};
struct PromptItemHeader {
  std::uint32_t instrument = 0;  // index in the strategy's instruments()
  std::uint16_t line_size = 0;   // the snapshot line, '\n' included; it starts with the pair id
  std::uint8_t pair_size = 0;
  std::uint8_t reserved = 0;
};

// ---- the reply channel ----
struct ReplyRecord {
  enum class Kind : std::uint8_t { kEntry, kJobDone };
  Kind kind = Kind::kEntry;
  strategies::Action action = strategies::Action::kHold;
  std::uint8_t reason_size = 0;
  std::uint32_t instrument = 0;
  std::uint64_t job = 0;
  double confidence = 0;
  char reason[strategies::ReplyParser::kMaxSummaryBytes];
};
using ReplyChannel = boost::lockfree::spsc_queue<ReplyRecord>;

// Why a 2xx reply gave no usable signal (sigflow_inference_replies_unusable_total{reason}). A truncated
// reply (finish_reason "length") is split and retried by the client, which counts it there.
enum class UnusableReply : std::uint8_t {
  kEmpty,           // no content
  kNotReplyFormat,  // content that is not the reply format (plain text, other JSON)
  kNoSignals,       // the format, but no entry at all ("signals" missing or empty)
  kUnknownPairs,    // every entry named a pair not in the request
  kInvalidEntries,  // every entry was invalid (signal, confidence, pair)
  kRefusal,         // the model declined (message.refusal)
};
inline constexpr std::size_t kUnusableReplyReasons = 6;
std::string_view to_string(UnusableReply reason) noexcept;

struct InferenceThreadCounters {
  engine::Counter jobs_received;
  engine::Counter jobs_malformed;  // a prompt frame that does not parse (a bug, never expected)
  engine::Counter replies_parsed;
  engine::Counter replies_unusable;  // no usable entry: every item abstains (by reason below)
  std::array<engine::Counter, kUnusableReplyReasons> unusable_by_reason;
  engine::Counter entries;
  engine::Counter abstained;  // pairs missing from a reply
  engine::Counter unknown_pairs;
  engine::Counter duplicate_pairs;
  engine::Counter invalid_entries;
  engine::Counter clamped_confidences;
  engine::Counter items_failed;
  engine::Counter reply_channel_full;
};

struct InferenceThreadOptions {
  engine::InferenceConfig config;
  engine::SecretBytes api_key;  // from the environment; never printed, never in a core dump
  std::string ca_pem;           // extra CA (in-process simulators)
  std::shared_ptr<const strategies::Tokenizer> tokenizer;
  strategies::PromptBudget budget;  // the strategy's planner budget: completion tokens per instrument
  std::size_t prompt_ring_bytes = 4u << 20;
  std::size_t reply_records = 8192;
  // Failed requests and unusable replies are explained here, rate-limited; null: counted only.
  std::FILE* log = nullptr;
};

class InferenceThread final : private io::ChatRequestSource {
 public:
  explicit InferenceThread(InferenceThreadOptions options);
  ~InferenceThread();
  InferenceThread(const InferenceThread&) = delete;
  InferenceThread& operator=(const InferenceThread&) = delete;

  // Throws (before starting) when base_url does not parse or the CA cannot be loaded.
  void start(const engine::ThreadConfig& thread);
  void stop();

  // ---- the strategy thread's side ----
  engine::FrameRing& prompts() noexcept { return prompts_; }
  ReplyChannel& replies() noexcept { return replies_; }
  std::uint32_t free_slots() const noexcept { return client_->free_slots(); }
  std::int64_t tokens_available() const noexcept { return client_->tokens_available(); }
  double prompt_token_residual() const noexcept { return residual_.load(std::memory_order_relaxed); }

  // ---- any thread ----
  const io::InferenceClient& client() const noexcept { return *client_; }
  const InferenceThreadCounters& counters() const noexcept { return *counters_; }
  const engine::InferenceConfig& config() const noexcept { return options_.config; }
  // How long every reply has been unusable (monotonic `now_ns` minus the first unusable reply after the
  // last usable one); 0 while the latest reply was usable or none came.
  std::int64_t unusable_for_ns(std::int64_t now_ns) const noexcept;
  const std::shared_ptr<const strategies::Tokenizer>& tokenizer() const noexcept {
    return options_.tokenizer;
  }

 private:
  struct Job;

  void run();
  void take_prompts(std::int64_t now_ns);
  Job* find_job(std::uint64_t id) noexcept;
  void push(const ReplyRecord& record) noexcept;
  void on_unusable(UnusableReply reason, std::string_view content, std::int64_t now_ns);
  std::span<const std::string_view> pairs_of(const Job& job, std::uint32_t first, std::uint32_t count);

  io::RequestCost write_request(std::uint64_t job, std::uint32_t first, std::uint32_t count,
                                std::string& body) override;
  void on_reply(std::uint64_t job, std::uint32_t first, std::uint32_t count, const io::ChatCompletion& reply,
                const io::RequestCost& cost, std::int64_t now_ns) override;
  void on_items_failed(std::uint64_t job, std::uint32_t first, std::uint32_t count, io::ItemsFailure why,
                       std::int64_t now_ns) override;
  void on_job_done(std::uint64_t job, std::int64_t now_ns) override;

  InferenceThreadOptions options_;
  io::ChatEndpoint endpoint_;
  std::unique_ptr<io::TlsContext> tls_;
  engine::FrameRing prompts_;
  ReplyChannel replies_;
  std::unique_ptr<io::InferenceClient> client_;
  std::vector<std::unique_ptr<Job>> jobs_;
  strategies::TokenizerScratch scratch_;
  strategies::PromptTokenCorrection correction_;
  strategies::ReplyParser parser_;
  std::vector<std::string_view> pair_views_;
  std::string user_;
  std::string response_format_;
  std::unique_ptr<InferenceThreadCounters> counters_;
  std::atomic<double> residual_{0};
  std::atomic<std::int64_t> unusable_since_ns_{0};  // 0: the latest reply was usable (or none came)
  std::array<std::int64_t, kUnusableReplyReasons> unusable_logged_ns_{};
  std::array<std::uint64_t, kUnusableReplyReasons> unusable_suppressed_{};
  std::atomic<bool> stop_{false};
  engine::PinnedThread thread_;
};

class StrategyThread;

// The API key from the environment variable `config.inference.api_key_env`: present, non-empty, no white
// space. On failure returns false and sets `problem` to a message that names the variable, never its value.
// The key is copied straight from the environment into `key`'s protected page, never into a std::string.
bool read_api_key(const engine::InferenceConfig& config, engine::SecretBytes& key, std::string& problem);

// The planner budget for a config: completion tokens reserved per chunk stay within max_completion_tokens.
strategies::PromptBudget prompt_budget(const engine::InferenceConfig& config);

// Builds the inference thread for config.inference and attaches it to `strategy` (before either starts).
// Returns null when inference is disabled or cannot run (no key, no tokenizer data, bad URL): the reason
// is written once to `log` and the engine runs on its local model. The key is never written anywhere.
std::unique_ptr<InferenceThread> make_inference(const engine::Config& config, StrategyThread& strategy,
                                                const std::string& data_dir, const std::string& extra_ca_pem,
                                                std::FILE* log);

// A status line reads `llm=unusable` once every reply has been unusable for this long.
inline constexpr std::int64_t kUnusableStatusAfterNs = 3'000'000'000;

// The `llm` field: up, unusable (every reply unusable for kUnusableStatusAfterNs), probing, or
// breaker-open with the latest failure explained ("breaker-open (500 server_error: …)").
std::string inference_status_text(const InferenceThread& inference, std::int64_t now_ns);

// Inference fields of the status line: breaker state, requests/s, 429s, retries, LLM-sourced signals/s,
// replies dropped stale.
void add_inference_status(engine::StatusLine& status, const InferenceThread& inference,
                          const StrategyThread& strategy);

}  // namespace sigflow::app
