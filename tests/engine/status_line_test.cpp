#include "engine/status_line.hpp"

#include <gtest/gtest.h>

namespace {

TEST(StatusLine, RendersRatesTotalsAndText) {
  std::uint64_t frames = 0;
  std::uint64_t drops = 3;
  sigflow::engine::StatusLine line;
  line.add_rate("frames", [&] { return frames; });
  line.add_total("drops", [&] { return drops; });
  line.add_text("conn", [] { return std::string("2/2"); });
  EXPECT_EQ(line.render(1'000'000'000), "status frames=0/s drops=3 conn=2/2");
  frames = 500;
  EXPECT_EQ(line.render(1'500'000'000), "status frames=1000/s drops=3 conn=2/2");
  frames = 500 + 2'000'000;
  EXPECT_EQ(line.render(2'500'000'000), "status frames=2.00M/s drops=3 conn=2/2");
  frames += 25'000;
  EXPECT_EQ(line.render(3'500'000'000), "status frames=25.0k/s drops=3 conn=2/2");
}

}  // namespace
