// libFuzzer: any bytes as the assistant's content for a chunk of three instruments, both as a complete and
// as a truncated reply. Whatever the content, every entry names one of the chunk's pairs at most once, has
// a confidence in [0, 1] and a summary within the bound, and every pair is either an entry or missing.
#include <array>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "strategies/reply_parser.hpp"

namespace {

constexpr std::array<std::string_view, 3> kPairs = {"BTCUSDT@binance-usdm", "ETHUSDT@binance-usdm",
                                                    "SOLUSDT@bybit-linear"};

volatile unsigned sink = 0;

void check(const sigflow::strategies::ReplyParser& parser) {
  std::array<int, kPairs.size()> seen{};
  for (const auto& e : parser.entries()) {
    if (e.instrument >= kPairs.size() || seen[e.instrument]++ != 0) std::abort();
    if (!(e.confidence >= 0.0 && e.confidence <= 1.0)) std::abort();
    if (e.summary.size() > sigflow::strategies::ReplyParser::kMaxSummaryBytes) std::abort();
    for (const char ch : e.summary)
      sink = sink + static_cast<unsigned char>(ch);  // the view must be readable
  }
  std::uint32_t previous = 0;
  bool first = true;
  for (const std::uint32_t m : parser.missing()) {
    if (m >= kPairs.size() || seen[m] != 0 || (!first && m <= previous)) std::abort();
    previous = m;
    first = false;
    seen[m] = 1;
  }
  for (const int s : seen)
    if (s != 1) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static sigflow::strategies::ReplyParser parser;
  const std::string_view content(reinterpret_cast<const char*>(data), size);
  const auto status = parser.parse(kPairs, content, false);
  if (status == sigflow::strategies::ReplyStatus::kOk) check(parser);
  // A truncated reply is never trusted, whatever it parses to.
  if (parser.parse(kPairs, content, true) == sigflow::strategies::ReplyStatus::kOk && !content.empty())
    std::abort();
  return 0;
}
