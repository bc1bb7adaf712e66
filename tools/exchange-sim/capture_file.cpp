#include "tools/exchange-sim/capture_file.hpp"

#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include <simdjson.h>

namespace sigflow::tools {

Capture load_capture(const std::string& path, const Venue& venue) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("capture " + path + ": cannot open");
  Capture capture;
  std::string line;
  simdjson::dom::parser parser;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    simdjson::dom::object record;
    if (const auto error = parser.parse(line).get(record))
      throw std::runtime_error("capture " + path + ":" + std::to_string(number) + ": " +
                               simdjson::error_message(error));
    std::string_view kind;
    if (record["t"].get(kind) || kind != "recv") continue;
    std::string_view data;
    simdjson::dom::element ts;
    if (record["data"].get(data) || record["ts"].get(ts))
      throw std::runtime_error("capture " + path + ":" + std::to_string(number) +
                               ": recv record without data/ts");
    // cryptofeed writes the receive time as a number or as a numeric string.
    double recv_s = 0;
    std::string_view ts_text;
    if (!ts.get(ts_text)) {
      recv_s = std::strtod(std::string(ts_text).c_str(), nullptr);
    } else if (ts.get(recv_s)) {
      throw std::runtime_error("capture " + path + ":" + std::to_string(number) + ": ts is not a time");
    }
    auto frame = venue.read_recorded_frame(std::string(data), recv_s);
    if (frame) {
      capture.frames.push_back(std::move(*frame));
    } else {
      ++capture.skipped;
    }
  }
  return capture;
}

}  // namespace sigflow::tools
