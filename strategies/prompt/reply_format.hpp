#pragma once
// ReplyFormat: what the model is told to answer, and the JSON schema that holds it to that.
//
// Two ways to read a reply, one contract:
//  - structured outputs: response_format {type: json_schema, strict: true} whose "pair" enum lists exactly
//  this
//    chunk's pair ids, so a schema-following server cannot invent or misspell a pair;
//  - the lenient line format `PAIR: SIGNAL | CONFIDENCE | SUMMARY`, one line per pair, described in the
//  system
//    message for providers without structured outputs.
// The reply parser must validate either way (each pair once, known pairs only): servers do not promise it.
#include <span>
#include <string>
#include <string_view>

namespace sigflow::strategies {

// Constant for the process, so its tokens are counted once.
std::string_view system_message();

// Appends the strict-mode JSON schema object for `pair_ids` (which must be JSON-safe, as snapshot lines make
// them): {"signals": [{"pair": enum, "signal": BUY|SELL|HOLD, "confidence": 0..1, "summary": string}]}.
void append_reply_schema(std::span<const std::string_view> pair_ids, std::string& out);

// Appends the whole response_format value:
// {"type":"json_schema","json_schema":{"name":…,"strict":true,"schema":…}}.
void append_response_format(std::span<const std::string_view> pair_ids, std::string& out);

inline constexpr std::string_view kReplySchemaName = "trading_signals";

}  // namespace sigflow::strategies
