// libFuzzer: any bytes as a configuration file. Loading either succeeds or throws ConfigError with a
// message; nothing else may escape and nothing may crash.
#include <cstdint>
#include <string>

#include "engine/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    sigflow::engine::load_config_text(std::string_view(reinterpret_cast<const char*>(data), size),
                                      "fuzz.toml");
  } catch (const sigflow::engine::ConfigError&) {
  }
  return 0;
}
