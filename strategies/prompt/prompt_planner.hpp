#pragma once
// PromptPlanner: each cycle, turns the instruments' features into as few prompts ("chunks") as fit the
// model's input budget, spending no more tokens than the rate limiter allows this cycle.
//
// Per cycle, for the instruments in priority order:
//  - write the instrument's snapshot line and count its tokens once (lines are token-additive, see
//    snapshot_line.hpp, so a chunk's cost is a sum and the assembled prompt is never recounted);
//  - place it in the first chunk with room (prompt_token_budget, max_instruments_per_chunk), or open a new
//  one;
//  - stop at the first instrument whose cost would overrun tokens_available; it and everyone after it is
//    carried over to the next cycle. An instrument is never split across chunks.
// A chunk's cost is its prompt tokens plus its max_completion_tokens (completion_tokens_base +
// completion_tokens_per_instrument per instrument): what a TPM limiter debits for the request.
//
// Priority and aging: instruments carried over the most consecutive cycles go first, then the highest
// change_score, then the lowest index. So every carried instrument outranks every fresh one, and under a
// persistent shortfall the planner serves the backlog round-robin by wait time: no instrument waits more than
// ceil(eligible / planned-per-cycle) cycles. The plan depends only on the features, the budget and the wait
// counts, so the same state plans the same chunks.
//
// Prompt tokens are exact for the text we send: chat framing (OpenAI Cookbook rule) + system message + the
// chunk's lines + the response_format JSON, plus `per_chunk_correction` (PromptTokenCorrection::residual(),
// what the provider adds on top, e.g. its rendering of the schema).
//
// No allocation in plan() once the buffers have grown to the largest instrument count seen (the constructor
// sizes them for `instruments_hint`). Not thread-safe: one planner per strategy thread.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "strategies/features.hpp"
#include "strategies/tokenizer/tokenizer.hpp"

namespace sigflow::strategies {

struct PromptBudget {
  std::size_t prompt_token_budget = 8000;  // input tokens per request
  std::size_t completion_tokens_base = 64;
  std::size_t completion_tokens_per_instrument = 40;
  // Bounds one reply's length and the schema's enum (strict mode allows 1,000 enum values per schema).
  std::size_t max_instruments_per_chunk = 100;
  bool skip_invalid_books = true;  // instruments with book_valid == false are not prompted (and do not age)
};

struct PromptChunk {
  std::uint32_t first = 0;  // range of PromptPlanner::planned_instruments()
  std::uint32_t count = 0;
  std::size_t prompt_tokens = 0;
  std::size_t max_completion_tokens = 0;
};

struct PromptPlanStats {
  std::size_t eligible = 0;
  std::size_t planned = 0;
  std::size_t carried = 0;
  std::size_t rejected = 0;      // bad identifier, or too large for a chunk on its own: never prompted
  std::size_t tokens = 0;        // sum over chunks of prompt_tokens + max_completion_tokens
  std::size_t longest_wait = 0;  // cycles, among the carried
};

class PromptPlanner {
 public:
  PromptPlanner(std::shared_ptr<const Tokenizer> tokenizer, const PromptBudget& budget,
                std::size_t instruments_hint = 0);

  // `instruments` is the whole universe in a stable order: an index names the same instrument every cycle.
  void plan(std::span<const InstrumentFeatures> instruments, std::size_t tokens_available,
            double per_chunk_correction = 0);

  std::span<const PromptChunk> chunks() const { return chunks_; }
  // Instrument indices of a chunk, ascending (a stable order keeps prompts alike across cycles).
  std::span<const std::uint32_t> instruments_of(const PromptChunk& chunk) const {
    return std::span<const std::uint32_t>(planned_).subspan(chunk.first, chunk.count);
  }
  const PromptPlanStats& stats() const { return stats_; }
  std::size_t cycles_waiting(std::uint32_t index) const {
    return index < waiting_.size() ? waiting_[index] : 0;
  }

  // Valid for instruments planned in the last plan() call.
  std::string_view line(std::uint32_t index) const;
  std::string_view pair_id(std::uint32_t index) const;
  std::size_t line_tokens(std::uint32_t index) const { return line_tokens_[index]; }

  // The request's texts for a chunk, appended to the caller's reused strings.
  std::string_view system_message() const;
  void append_user_message(const PromptChunk& chunk, std::string& out) const;
  void append_response_format(const PromptChunk& chunk, std::string& out);

  // Prompt tokens of a chunk with no instruments: framing, system message, the schema's fixed part.
  std::size_t fixed_prompt_tokens() const { return fixed_prompt_tokens_; }

 private:
  void reserve(std::size_t instruments);
  std::size_t count(std::string_view text);

  std::shared_ptr<const Tokenizer> tokenizer_;
  TokenizerScratch scratch_;
  PromptBudget budget_;
  std::size_t fixed_prompt_tokens_ = 0;
  std::size_t enum_separator_tokens_ = 0;

  std::vector<std::uint32_t> waiting_;  // consecutive cycles carried, per instrument
  std::vector<std::uint32_t> order_;    // eligible instruments, by priority
  std::vector<char> lines_;             // kMaxSnapshotLine bytes per instrument
  std::vector<std::uint16_t> line_size_;
  std::vector<std::uint8_t> pair_size_;
  std::vector<std::uint32_t> line_tokens_;
  std::vector<std::uint32_t> chunk_of_;  // per admitted instrument, in admission order
  std::vector<std::uint32_t> admitted_;
  std::vector<std::uint32_t> planned_;  // admitted instruments grouped by chunk
  std::vector<PromptChunk> chunks_;
  std::vector<std::string_view> pair_views_;
  PromptPlanStats stats_;
};

}  // namespace sigflow::strategies
