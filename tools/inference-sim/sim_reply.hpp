#pragma once
// What the simulated model answers: the instruments found in the engine's prompt (its snapshot lines,
// strategies/prompt/snapshot_line.hpp), a signal for each decided from the features the line carries, and
// the reply text in the format the engine asked for (strategies/prompt/reply_format.hpp).
//
// The decision is a caricature of a microstructure model, so that replies are plausible and testable: a
// score from the top-of-book imbalances, the microprice offset and the short returns, plus a small
// deterministic jitter from (seed, pair); BUY above +kHoldBand, SELL below -kHoldBand, HOLD between, and
// HOLD with low confidence for a book marked invalid. The same prompt and seed give the same reply.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sigflow::tools {

struct PromptInstrument {
  std::string pair;                 // SYMBOL@VENUE, exactly as the line starts
  double imbalance[3] = {0, 0, 0};  // top 1/5/20 levels; 0 when unknown
  double microprice_offset_bps = 0;
  double return_1s_bps = 0;
  double return_10s_bps = 0;
  bool book_invalid = false;
};

// Every snapshot line of `user_content`: a line whose first word is SYMBOL@VENUE; other lines are ignored.
std::vector<PromptInstrument> parse_snapshot_lines(std::string_view user_content);

enum class SimAction : std::uint8_t { kBuy, kSell, kHold };
std::string_view to_string(SimAction action);

struct SimSignal {
  std::string pair;
  SimAction action = SimAction::kHold;
  double confidence = 0;
  std::string summary;
};

inline constexpr double kHoldBand = 0.08;

SimSignal decide(const PromptInstrument& instrument, std::uint64_t seed);

// {"signals":[{"pair":…,"signal":…,"confidence":…,"summary":…}]}: the reply_format schema's shape.
std::string render_structured(const std::vector<SimSignal>& signals);
// `PAIR: SIGNAL | CONFIDENCE | SUMMARY` lines.
std::string render_lines(const std::vector<SimSignal>& signals);

// Appends `text` as a JSON string literal (quotes included).
void append_json_string(std::string_view text, std::string& out);

}  // namespace sigflow::tools
