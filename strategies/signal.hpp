#pragma once
// Signal: the engine's output record, and its JSON-line form (the contract in DESIGN.md):
//
//   {"ts_ns":…,"cycle":…,"venue":"binance-usdm","symbol":"BTCUSDT","instrument":"BTC-USDT-PERP",
//    "signal":"BUY","confidence":0.73,"source":"local","model":"…","data_age_ms":…,"reason":"…"}
//
// The writer appends to a caller-owned std::string that is reused line after line, so once its capacity
// has grown to the longest line nothing allocates. Text fields are escaped for JSON and invalid UTF-8 is
// replaced by U+FFFD: reasons will also come from a language model, and a sink must never emit a line a
// JSON parser rejects.
#include <cstdint>
#include <string>
#include <string_view>

namespace sigflow::strategies {

enum class Action : std::uint8_t { kHold, kBuy, kSell };
enum class SignalSource : std::uint8_t { kLocal, kLlm };

constexpr std::string_view to_string(Action action) noexcept {
  switch (action) {
    case Action::kBuy:
      return "BUY";
    case Action::kSell:
      return "SELL";
    case Action::kHold:
      break;
  }
  return "HOLD";
}

constexpr std::string_view to_string(SignalSource source) noexcept {
  return source == SignalSource::kLlm ? "llm" : "local";
}

struct Signal {
  std::int64_t ts_ns = 0;  // wall-clock time the signal was made (ns since the Unix epoch)
  std::uint64_t cycle = 0;
  std::string_view venue;
  std::string_view symbol;
  std::string_view instrument;
  Action action = Action::kHold;
  double confidence = 0;  // [0, 1]; written with 4 decimals
  SignalSource source = SignalSource::kLocal;
  std::string_view model;
  double data_age_ms = 0;  // NaN (no data yet) is written as null
  std::string_view reason;
};

// Appends the signal as one JSON object and a '\n' to `out`.
void append_json_line(const Signal& signal, std::string& out);

// Appends `text` as a JSON string literal (quotes included) to `out`.
void append_json_string(std::string_view text, std::string& out);

// Where the strategy thread hands its signals (the lead's sink thread implements it; tests collect).
// Called on the strategy thread, once per instrument per cycle: implementations must not block.
class SignalSink {
 public:
  virtual ~SignalSink() = default;
  virtual void on_signal(const Signal& signal) = 0;
};

}  // namespace sigflow::strategies
