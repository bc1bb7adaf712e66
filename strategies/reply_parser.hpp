#pragma once
// ReplyParser: the assistant's content for one prompt chunk → one validated entry per instrument.
//
// Two formats, as reply_format.hpp asks for them:
//  - structured: {"signals":[{"pair","signal","confidence","summary"}]}, chosen when the content (after an
//    optional ``` fence, which non-strict servers add) starts with '{';
//  - lenient lines: `PAIR: SIGNAL | CONFIDENCE | SUMMARY`. A line counts as a signal line when it has a ':'
//    with a '|' after it; other lines (prose, fences) are noise and skipped. Bullets (-, *, •, "1." "1)")
//    and markdown emphasis or backticks around PAIR and SIGNAL are stripped. SUMMARY may be left out.
//
// Validation is the same for both, since servers do not promise the schema (inference.md §0):
//  - PAIR must be one of the chunk's ids, matched exactly (the prompt says "exactly as given"); an unknown
//    pair is dropped and counted; a repeated pair keeps its first entry, later ones are dropped and counted;
//  - SIGNAL is BUY, SELL or HOLD, case-insensitively: the schema enum holds structured replies to upper
//    case, while free-text models often write "Buy", which is not ambiguous. Anything else is dropped and
//    counted as invalid;
//  - CONFIDENCE must be a number; outside [0, 1] it is clamped and counted;
//  - SUMMARY is cut to kMaxSummaryBytes at a UTF-8 boundary (counted), as the prompt asks for 12 words;
//  - a pair with no valid entry abstains: its index is listed in missing().
//
// Views (summary) point into the content or into the parser and stay valid until the next parse() while
// the content lives. All buffers are reused, so once grown nothing allocates.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "strategies/signal.hpp"

namespace sigflow::strategies {

struct ReplyEntry {
  std::uint32_t instrument = 0;  // index into the chunk's pair ids
  Action action = Action::kHold;
  double confidence = 0;  // [0, 1]
  std::string_view summary;
};

enum class ReplyFormat : std::uint8_t { kStructured, kLines };

enum class ReplyStatus : std::uint8_t {
  kOk,         // entries() holds the valid entries (possibly none, if every line was invalid)
  kEmpty,      // no content
  kTruncated,  // the server stopped at its token limit: the reply is partial, split the chunk and retry
  kMalformed   // structured content that is not the schema's JSON
};

struct ReplyCounts {
  std::uint32_t unknown = 0;      // entries naming a pair not in the chunk
  std::uint32_t duplicate = 0;    // repeated pairs (first one kept)
  std::uint32_t invalid = 0;      // bad signal, missing or non-numeric confidence, missing pair
  std::uint32_t clamped = 0;      // confidences outside [0, 1]
  std::uint32_t summary_cut = 0;  // summaries longer than kMaxSummaryBytes
  std::uint32_t noise_lines = 0;  // lines format: non-blank lines that are not signal lines
};

class ReplyParser {
 public:
  // 12 words of trading prose fit in well under 160 bytes; more means the model ignored the instruction.
  static constexpr std::size_t kMaxSummaryBytes = 160;

  ReplyParser();

  // `truncated` is finish_reason == "length": the content is then never trusted, whatever it parses to.
  ReplyStatus parse(std::span<const std::string_view> pair_ids, std::string_view content, bool truncated);

  std::span<const ReplyEntry> entries() const noexcept { return entries_; }
  std::span<const std::uint32_t> missing() const noexcept { return missing_; }  // pair indices, ascending
  const ReplyCounts& counts() const noexcept { return counts_; }
  ReplyFormat format() const noexcept { return format_; }

 private:
  struct Candidate {
    std::string_view pair;
    std::string_view signal;
    double confidence = 0;
    bool has_confidence = false;
    std::string_view summary;
  };

  ReplyStatus parse_structured(std::string_view json);
  void parse_lines(std::string_view content);
  void accept(const Candidate& candidate);
  void finish();

  std::span<const std::string_view> pair_ids_;
  simdjson::ondemand::parser json_parser_;
  std::string padded_;
  std::vector<ReplyEntry> entries_;
  std::vector<std::uint32_t> missing_;
  std::vector<std::uint8_t> seen_;
  ReplyCounts counts_;
  ReplyFormat format_ = ReplyFormat::kLines;
};

}  // namespace sigflow::strategies
