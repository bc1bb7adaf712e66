// Signal JSON lines: DESIGN.md's exact field order and names, parseable, escaped, allocation-free reuse.
#include "strategies/signal.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

namespace sigflow::strategies {
namespace {

Signal example() {
  Signal s;
  s.ts_ns = 1700000000123456789;
  s.cycle = 42;
  s.venue = "binance-usdm";
  s.symbol = "BTCUSDT";
  s.instrument = "BTC-USDT-PERP";
  s.action = Action::kBuy;
  s.confidence = 0.73;
  s.source = SignalSource::kLocal;
  s.model = "local-microstructure-v1";
  s.data_age_ms = 12.5;
  s.reason = "imb5=+0.42 micro=+0.31bps";
  return s;
}

TEST(Signal, ExactDesignFormat) {
  std::string out;
  append_json_line(example(), out);
  EXPECT_EQ(out,
            R"({"ts_ns":1700000000123456789,"cycle":42,"venue":"binance-usdm","symbol":"BTCUSDT",)"
            R"("instrument":"BTC-USDT-PERP","signal":"BUY","confidence":0.73,"source":"local",)"
            R"("model":"local-microstructure-v1","data_age_ms":12.5,"reason":"imb5=+0.42 micro=+0.31bps"})"
            "\n");
}

TEST(Signal, ParsesBackWithTheRightFields) {
  Signal s = example();
  s.action = Action::kSell;
  s.source = SignalSource::kLlm;
  s.confidence = 0.123456;
  s.data_age_ms = 3.14159;
  std::string out;
  append_json_line(s, out);
  ASSERT_EQ(out.back(), '\n');
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["ts_ns"].get<std::int64_t>(), 1700000000123456789);
  EXPECT_EQ(j["cycle"].get<std::uint64_t>(), 42u);
  EXPECT_EQ(j["venue"], "binance-usdm");
  EXPECT_EQ(j["symbol"], "BTCUSDT");
  EXPECT_EQ(j["instrument"], "BTC-USDT-PERP");
  EXPECT_EQ(j["signal"], "SELL");
  EXPECT_DOUBLE_EQ(j["confidence"].get<double>(), 0.1235);
  EXPECT_EQ(j["source"], "llm");
  EXPECT_EQ(j["model"], "local-microstructure-v1");
  EXPECT_DOUBLE_EQ(j["data_age_ms"].get<double>(), 3.142);
  EXPECT_EQ(j["reason"], "imb5=+0.42 micro=+0.31bps");
  EXPECT_EQ(j.size(), 11u);
}

TEST(Signal, HoldNoDataAndClamping) {
  Signal s = example();
  s.action = Action::kHold;
  s.confidence = 0;
  s.data_age_ms = std::numeric_limits<double>::quiet_NaN();
  s.reason = "no data";
  std::string out;
  append_json_line(s, out);
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["signal"], "HOLD");
  EXPECT_EQ(j["confidence"].get<double>(), 0.0);
  EXPECT_TRUE(j["data_age_ms"].is_null());
  EXPECT_NE(out.find("\"confidence\":0,"), std::string::npos) << out;

  s.confidence = 1.7;
  out.clear();
  append_json_line(s, out);
  EXPECT_EQ(nlohmann::json::parse(out)["confidence"].get<double>(), 1.0);
  s.confidence = -0.2;
  out.clear();
  append_json_line(s, out);
  EXPECT_EQ(nlohmann::json::parse(out)["confidence"].get<double>(), 0.0);
}

TEST(Signal, EscapesTextAndRepairsUtf8) {
  Signal s = example();
  const std::string reason = std::string(
      "say \"hi\"\\ \n\t\x01 caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 bad:\xFF\xC3 "
      "over:\xC0\xAF sur:\xED\xA0\x80 end");
  s.reason = reason;
  std::string out;
  append_json_line(s, out);
  EXPECT_EQ(out.find('\n'), out.size() - 1);  // one line
  const auto j = nlohmann::json::parse(out);  // throws on invalid JSON or UTF-8
  EXPECT_EQ(j["reason"].get<std::string>(),
            "say \"hi\"\\ \n\t\x01 caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 bad:\xEF\xBF\xBD\xEF\xBF\xBD "
            "over:\xEF\xBF\xBD\xEF\xBF\xBD sur:\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD end");
  EXPECT_NE(out.find("\\u0001"), std::string::npos);
}

TEST(Signal, ReusedBufferDoesNotReallocate) {
  std::string out;
  out.reserve(4096);
  const char* data = out.data();
  const std::size_t capacity = out.capacity();
  for (int i = 0; i < 1000; ++i) {
    out.clear();
    Signal s = example();
    s.cycle = static_cast<std::uint64_t>(i);
    append_json_line(s, out);
  }
  EXPECT_EQ(out.data(), data);
  EXPECT_EQ(out.capacity(), capacity);
}

}  // namespace
}  // namespace sigflow::strategies
