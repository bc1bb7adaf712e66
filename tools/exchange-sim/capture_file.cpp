#include "tools/exchange-sim/capture_file.hpp"

#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "tools/exchange-sim/json_value.hpp"

namespace sigflow::tools {

Capture load_capture(const std::string& path, const Venue& venue) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("capture " + path + ": cannot open");
  Capture capture;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    std::string error;
    auto record = parse_json(line, &error);
    if (!record || record->kind != JsonValue::Kind::object)
      throw std::runtime_error("capture " + path + ":" + std::to_string(number) + ": " +
                               (record ? "not an object" : error));
    const JsonValue* kind = record->find("t");
    if (!kind || !kind->is_string() || kind->text != "recv") continue;
    const JsonValue* data = record->find("data");
    const JsonValue* ts = record->find("ts");
    if (!data || !data->is_string() || !ts ||
        (ts->kind != JsonValue::Kind::string && ts->kind != JsonValue::Kind::number))
      throw std::runtime_error("capture " + path + ":" + std::to_string(number) +
                               ": recv record without data/ts");
    auto frame = venue.read_recorded_frame(data->text, std::strtod(ts->text.c_str(), nullptr));
    if (frame) {
      capture.frames.push_back(std::move(*frame));
    } else {
      ++capture.skipped;
    }
  }
  return capture;
}

}  // namespace sigflow::tools
