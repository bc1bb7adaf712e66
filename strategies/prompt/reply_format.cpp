#include "strategies/prompt/reply_format.hpp"

#include "strategies/prompt/snapshot_line.hpp"

namespace sigflow::strategies {
namespace {

constexpr std::string_view kSystemHead =
    "You are a trading signal engine for crypto markets. You receive one snapshot line per instrument and "
    "give, for EVERY instrument listed, exactly one signal: BUY, SELL or HOLD, a confidence between 0 and 1, "
    "and a summary of at most 12 words. Judge the next few minutes from the order book and flow; "
    "answer HOLD when the evidence is weak or the data is old.\n";

constexpr std::string_view kSystemTail =
    "Reply format: if a JSON schema is given, follow it. Otherwise reply with one line per instrument and "
    "nothing else:\nPAIR: SIGNAL | CONFIDENCE | SUMMARY\nwhere PAIR is the SYMBOL@VENUE id exactly as given, "
    "for example:\nBTCUSDT@binance-usdm: BUY | 0.72 | bid-heavy book, rising 10 s return\n";

// The schema up to the enum's first value, and after its last one. Property order matches "required".
constexpr std::string_view kSchemaHead =
    R"({"type":"object","additionalProperties":false,"required":["signals"],"properties":{"signals":)"
    R"({"type":"array","items":{"type":"object","additionalProperties":false,)"
    R"("required":["pair","signal","confidence","summary"],"properties":{"pair":{"type":"string","enum":[)";
constexpr std::string_view kSchemaTail =
    R"(]},"signal":{"type":"string","enum":["BUY","SELL","HOLD"]},"confidence":{"type":"number"},)"
    R"("summary":{"type":"string"}}}}}})";

}  // namespace

std::string_view system_message() {
  static const std::string message =
      std::string(kSystemHead) + std::string(snapshot_line_legend()) + std::string(kSystemTail);
  return message;
}

void append_reply_schema(std::span<const std::string_view> pair_ids, std::string& out) {
  out += kSchemaHead;
  for (std::size_t i = 0; i < pair_ids.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    out += pair_ids[i];
    out += '"';
  }
  out += kSchemaTail;
}

void append_response_format(std::span<const std::string_view> pair_ids, std::string& out) {
  out += R"({"type":"json_schema","json_schema":{"name":")";
  out += kReplySchemaName;
  out += R"(","strict":true,"schema":)";
  append_reply_schema(pair_ids, out);
  out += "}}";
}

}  // namespace sigflow::strategies
