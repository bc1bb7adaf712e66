#include "engine/status_line.hpp"

#include <cstdio>

namespace sigflow::engine {

void StatusLine::add_rate(std::string label, Reader read) {
  fields_.push_back({std::move(label), Kind::kRate, std::move(read), {}, 0});
}

void StatusLine::add_total(std::string label, Reader read) {
  fields_.push_back({std::move(label), Kind::kTotal, std::move(read), {}, 0});
}

void StatusLine::add_text(std::string label, TextReader read) {
  fields_.push_back({std::move(label), Kind::kText, {}, std::move(read), 0});
}

std::string StatusLine::render(std::int64_t now_ns) {
  const bool first = last_ns_ == 0;
  const double seconds = first ? 0.0 : static_cast<double>(now_ns - last_ns_) / 1e9;
  last_ns_ = now_ns;
  std::string line = "status";
  char buf[64];
  for (Field& field : fields_) {
    line += ' ';
    line += field.label;
    line += '=';
    switch (field.kind) {
      case Kind::kRate: {
        const std::uint64_t value = field.read();
        const double rate = seconds > 0 ? static_cast<double>(value - field.last) / seconds : 0.0;
        field.last = value;
        if (rate >= 1e6) {
          std::snprintf(buf, sizeof buf, "%.2fM/s", rate / 1e6);
        } else if (rate >= 1e4) {
          std::snprintf(buf, sizeof buf, "%.1fk/s", rate / 1e3);
        } else {
          std::snprintf(buf, sizeof buf, "%.0f/s", rate);
        }
        line += buf;
        break;
      }
      case Kind::kTotal:
        line += std::to_string(field.read());
        break;
      case Kind::kText:
        line += field.read_text();
        break;
    }
  }
  return line;
}

}  // namespace sigflow::engine
