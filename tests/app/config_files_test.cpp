// The shipped configuration files load, and the engine refuses to start on a bad one.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "engine/app/commands.hpp"
#include "engine/config.hpp"

namespace {

TEST(ConfigFiles, EveryShippedConfigLoads) {
  int loaded = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(SIGFLOW_SOURCE_DIR) + "/configs")) {
    if (entry.path().extension() != ".toml") continue;
    EXPECT_NO_THROW(sigflow::engine::load_config_file(entry.path().string())) << entry.path();
    ++loaded;
  }
  EXPECT_GT(loaded, 0);
}

TEST(ConfigFiles, RunRefusesToStartOnAnUnknownKey) {
  const auto path = std::filesystem::temp_directory_path() / "sigflow-bad-config.toml";
  {
    std::ofstream out(path);
    out << "[venues.binance-usdm]\nsymbols = [\"BTCUSDT\"]\nsymbls = [\"ETHUSDT\"]\n";
  }
  sigflow::app::RunOptions options;
  options.config_path = path.string();
  testing::internal::CaptureStderr();
  const int status = sigflow::app::run_engine(options);
  const std::string err = testing::internal::GetCapturedStderr();
  std::filesystem::remove(path);
  EXPECT_EQ(status, 2);
  EXPECT_NE(err.find("venues.binance-usdm.symbls"), std::string::npos) << err;
  EXPECT_NE(err.find(":3"), std::string::npos) << err;
}

}  // namespace
