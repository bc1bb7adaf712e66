// Decimal: exact parse, identical formatting, numeric comparison across exponents.
#include "io/venues/decimal.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sigflow::io {
namespace {

std::string round_trip(std::string_view text) {
  const auto d = Decimal::parse(text);
  if (!d) return "<rejected>";
  char buffer[Decimal::kMaxChars];
  char* end = d->format(buffer, buffer + sizeof buffer);
  return end ? std::string(buffer, end) : std::string("<unformattable>");
}

Decimal dec(std::string_view text) {
  const auto d = Decimal::parse(text);
  EXPECT_TRUE(d) << text;
  return d.value_or(Decimal{});
}

TEST(Decimal, VenueStringsRoundTripExactly) {
  for (const char* text : {"7.6110",
                           "0.2443",
                           "0.00000638",
                           "10",
                           "0",
                           "0.00000000",
                           "11794.15000000",
                           "-0.00012",
                           "1.01100",
                           "312",
                           "0.0040",
                           "489818",
                           "12.6806",
                           "9910.12345678",
                           "-1",
                           "1.5",
                           "9223372036854775807",
                           "-9223372036854775808",
                           "0.000000000000000000000000000001",
                           "922337203685477580.7"}) {
    EXPECT_EQ(round_trip(text), text);
  }
}

TEST(Decimal, ParsesMantissaAndExponent) {
  const Decimal d = dec("7.6110");
  EXPECT_EQ(d.mantissa(), 76110);
  EXPECT_EQ(d.exponent(), -4);
  EXPECT_EQ(dec("0.00000638").mantissa(), 638);
  EXPECT_EQ(dec("0.00000638").exponent(), -8);
  EXPECT_EQ(dec("-0.5").mantissa(), -5);
  EXPECT_TRUE(dec("0.000").is_zero());
  EXPECT_TRUE(dec("-3").is_negative());
}

TEST(Decimal, RejectsWhatItCouldNotWriteBack) {
  for (const char* text : {"",
                           "-",
                           ".5",
                           "5.",
                           "1.2.3",
                           "+1",
                           "1e5",
                           "1E-3",
                           "007",
                           "00.1",
                           "1,5",
                           " 1",
                           "1 ",
                           "0x10",
                           "NaN",
                           "inf",
                           "9223372036854775808",
                           "-9223372036854775809",
                           "0.0000000000000000000000000000001",
                           "--1",
                           "1-",
                           "\"1\""}) {
    EXPECT_FALSE(Decimal::parse(text)) << text;
  }
}

TEST(Decimal, NegativeZeroIsZero) {
  // The one documented non-identical round trip: an int64 mantissa has no negative zero.
  EXPECT_EQ(round_trip("-0.000"), "0.000");
  EXPECT_EQ(dec("-0.000"), dec("0"));
}

TEST(Decimal, ComparesNumericallyAcrossExponents) {
  EXPECT_EQ(dec("7.6"), dec("7.60"));
  EXPECT_FALSE(dec("7.6").identical(dec("7.60")));
  EXPECT_TRUE(dec("7.60").identical(dec("7.60")));
  EXPECT_LT(dec("7.609"), dec("7.61"));
  EXPECT_GT(dec("10"), dec("9.99999999"));
  EXPECT_LT(dec("-1.5"), dec("-1.49"));
  EXPECT_LT(dec("-0.00000001"), dec("0"));
  EXPECT_GT(dec("0.00000001"), dec("0"));
  // Exponents 30 apart: the scaled operand overflows any int64 mantissa, the comparison stays exact.
  EXPECT_GT(dec("1"), dec("0.999999999999999999"));
  EXPECT_LT(Decimal(1, -30), Decimal(1, 0));
  EXPECT_GT(Decimal(1, 20), Decimal(INT64_MAX, 0));
  EXPECT_LT(Decimal(-1, 20), Decimal(INT64_MIN, 0));
  EXPECT_EQ(Decimal(0, 25), Decimal(0, -3));
}

TEST(Decimal, ToDouble) {
  EXPECT_DOUBLE_EQ(dec("7.6110").to_double(), 7.611);
  EXPECT_DOUBLE_EQ(dec("0.00000638").to_double(), 6.38e-6);
  EXPECT_EQ(dec("0.1").to_double(), 0.1);  // correctly rounded: m / 10^k with both exact
  EXPECT_EQ(dec("-11794.15").to_double(), -11794.15);
  EXPECT_EQ(Decimal(5, 3).to_double(), 5000.0);
  EXPECT_DOUBLE_EQ(Decimal(1, -30).to_double(), 1e-30);
}

TEST(Decimal, FormatReportsTooSmallBuffer) {
  const Decimal d = dec("11794.15000000");
  char small[8];
  EXPECT_EQ(d.format(small, small + sizeof small), nullptr);
  char exact[14];
  char* end = d.format(exact, exact + sizeof exact);
  ASSERT_NE(end, nullptr);
  EXPECT_EQ(std::string(exact, end), "11794.15000000");
  char positive[16];
  end = Decimal(12, 3).format(positive, positive + sizeof positive);
  ASSERT_NE(end, nullptr);
  EXPECT_EQ(std::string(positive, end), "12000");
}

}  // namespace
}  // namespace sigflow::io
