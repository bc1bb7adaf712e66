#include "strategies/prompt/prompt_planner.hpp"

#include <algorithm>
#include <cmath>

#include "strategies/prompt/reply_format.hpp"
#include "strategies/prompt/snapshot_line.hpp"
#include "strategies/tokenizer/chat_tokens.hpp"

namespace sigflow::strategies {
namespace {

// A pair id that tokenizes like real ones (letters, '@', letters): used to measure the schema's fixed part.
constexpr std::string_view kProbePair = "BTCUSDT@binance";

double priority_score(const InstrumentFeatures& f) {
  return std::isfinite(f.change_score) ? f.change_score : 0;
}

}  // namespace

PromptPlanner::PromptPlanner(std::shared_ptr<const Tokenizer> tokenizer, const PromptBudget& budget,
                             std::size_t instruments_hint)
    : tokenizer_(std::move(tokenizer)), budget_(budget) {
  // Chat framing and the system message, with an empty user message: the lines add to it.
  const ChatMessage messages[2] = {{"system", system_message(), {}}, {"user", "", {}}};
  fixed_prompt_tokens_ = count_chat_tokens(*tokenizer_, scratch_, messages).tokens;

  // The response_format JSON costs fixed + sum(pair tokens + separator) minus one separator: pair ids start
  // and end with a letter or digit, so the pre-split cuts the enum at the quotes and the separators "," and
  // the count is additive. One probe measures the fixed part.
  std::string probe;
  const std::string_view probe_pairs[1] = {kProbePair};
  strategies::append_response_format(probe_pairs, probe);
  enum_separator_tokens_ = count("\",\"");
  fixed_prompt_tokens_ += count(probe) - count(kProbePair) - enum_separator_tokens_;

  pair_views_.reserve(budget_.max_instruments_per_chunk);
  reserve(instruments_hint);
}

void PromptPlanner::reserve(std::size_t instruments) {
  if (waiting_.size() >= instruments) return;
  waiting_.resize(instruments, 0);
  order_.reserve(instruments);
  lines_.resize(instruments * kMaxSnapshotLine);
  line_size_.resize(instruments, 0);
  pair_size_.resize(instruments, 0);
  line_tokens_.resize(instruments, 0);
  chunk_of_.reserve(instruments);
  admitted_.reserve(instruments);
  planned_.reserve(instruments);
  chunks_.reserve(instruments);
}

std::size_t PromptPlanner::count(std::string_view text) {
  // Everything counted here is ASCII that this module wrote, so the count cannot fail.
  return tokenizer_->count(text, scratch_).tokens;
}

void PromptPlanner::plan(std::span<const InstrumentFeatures> instruments, std::size_t tokens_available,
                         double per_chunk_correction) {
  const std::size_t n = instruments.size();
  reserve(n);
  stats_ = PromptPlanStats{};
  chunks_.clear();
  admitted_.clear();
  chunk_of_.clear();
  planned_.clear();

  order_.clear();
  for (std::uint32_t i = 0; i < n; ++i) {
    if (budget_.skip_invalid_books && !instruments[i].book_valid) {
      waiting_[i] = 0;
      continue;
    }
    order_.push_back(i);
  }
  stats_.eligible = order_.size();
  std::sort(order_.begin(), order_.end(), [&](std::uint32_t a, std::uint32_t b) {
    if (waiting_[a] != waiting_[b]) return waiting_[a] > waiting_[b];
    const double sa = priority_score(instruments[a]);
    const double sb = priority_score(instruments[b]);
    if (sa != sb) return sa > sb;
    return a < b;
  });

  const double correction = per_chunk_correction > 0 ? std::ceil(per_chunk_correction) : 0;
  const std::size_t chunk_prompt_base = fixed_prompt_tokens_ + static_cast<std::size_t>(correction);
  const std::size_t chunk_completion_base = budget_.completion_tokens_base;
  std::size_t spent = 0;
  std::size_t first_open = 0;  // chunks before it have no room left for the smallest instrument seen
  std::size_t smallest = SIZE_MAX;

  std::size_t at = 0;
  for (; at < order_.size(); ++at) {
    const std::uint32_t index = order_[at];
    char* line = lines_.data() + static_cast<std::size_t>(index) * kMaxSnapshotLine;
    const SnapshotLineResult written =
        write_snapshot_line(instruments[index], std::span(line, kMaxSnapshotLine));
    if (!written.ok()) {
      ++stats_.rejected;
      waiting_[index] = 0;
      continue;
    }
    line_size_[index] = static_cast<std::uint16_t>(written.size);
    pair_size_[index] = static_cast<std::uint8_t>(written.pair_size);
    const std::size_t line_tokens = count(std::string_view(line, written.size));
    line_tokens_[index] = static_cast<std::uint32_t>(line_tokens);
    const std::size_t prompt_cost =
        line_tokens + count(std::string_view(line, written.pair_size)) + enum_separator_tokens_;
    const std::size_t completion_cost = budget_.completion_tokens_per_instrument;

    if (chunk_prompt_base + prompt_cost > budget_.prompt_token_budget) {
      ++stats_.rejected;  // cannot fit even alone; carrying it would block the queue forever
      waiting_[index] = 0;
      continue;
    }

    std::size_t target = chunks_.size();
    for (std::size_t c = first_open; c < chunks_.size(); ++c) {
      if (chunks_[c].count < budget_.max_instruments_per_chunk &&
          chunks_[c].prompt_tokens + prompt_cost <= budget_.prompt_token_budget) {
        target = c;
        break;
      }
    }
    const bool opens_chunk = target == chunks_.size();
    const std::size_t cost =
        prompt_cost + completion_cost + (opens_chunk ? chunk_prompt_base + chunk_completion_base : 0);
    if (spent + cost > tokens_available) break;

    if (opens_chunk) chunks_.push_back(PromptChunk{0, 0, chunk_prompt_base, chunk_completion_base});
    PromptChunk& chunk = chunks_[target];
    chunk.count += 1;
    chunk.prompt_tokens += prompt_cost;
    chunk.max_completion_tokens += completion_cost;
    spent += cost;
    admitted_.push_back(index);
    chunk_of_.push_back(static_cast<std::uint32_t>(target));
    waiting_[index] = 0;

    smallest = std::min(smallest, prompt_cost);
    while (first_open < chunks_.size() &&
           (chunks_[first_open].count >= budget_.max_instruments_per_chunk ||
            chunks_[first_open].prompt_tokens + smallest > budget_.prompt_token_budget)) {
      ++first_open;
    }
  }
  for (; at < order_.size(); ++at) {
    const std::uint32_t index = order_[at];
    ++waiting_[index];
    ++stats_.carried;
    stats_.longest_wait = std::max<std::size_t>(stats_.longest_wait, waiting_[index]);
  }

  // Group by chunk (counting sort keeps admission order), then order each chunk by index.
  std::uint32_t next = 0;
  for (PromptChunk& chunk : chunks_) {
    chunk.first = next;
    next += chunk.count;
    chunk.count = 0;
  }
  planned_.resize(admitted_.size());
  for (std::size_t k = 0; k < admitted_.size(); ++k) {
    PromptChunk& chunk = chunks_[chunk_of_[k]];
    planned_[chunk.first + chunk.count++] = admitted_[k];
  }
  for (const PromptChunk& chunk : chunks_) {
    std::sort(planned_.begin() + chunk.first, planned_.begin() + chunk.first + chunk.count);
  }
  stats_.planned = admitted_.size();
  stats_.tokens = spent;
}

std::string_view PromptPlanner::line(std::uint32_t index) const {
  return std::string_view(lines_.data() + static_cast<std::size_t>(index) * kMaxSnapshotLine,
                          line_size_[index]);
}

std::string_view PromptPlanner::pair_id(std::uint32_t index) const {
  return std::string_view(lines_.data() + static_cast<std::size_t>(index) * kMaxSnapshotLine,
                          pair_size_[index]);
}

std::string_view PromptPlanner::system_message() const {
  return strategies::system_message();
}

void PromptPlanner::append_user_message(const PromptChunk& chunk, std::string& out) const {
  for (std::uint32_t index : instruments_of(chunk)) out += line(index);
}

void PromptPlanner::append_response_format(const PromptChunk& chunk, std::string& out) {
  pair_views_.clear();
  for (std::uint32_t index : instruments_of(chunk)) pair_views_.push_back(pair_id(index));
  strategies::append_response_format(pair_views_, out);
}

}  // namespace sigflow::strategies
