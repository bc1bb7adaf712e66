#pragma once
// The once-a-second status line on stderr: per-stage rates and totals read from the stages' atomic
// counters. It runs on its own (status) thread and reads counters with relaxed loads, so it costs the hot
// path nothing.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace sigflow::engine {

class StatusLine {
 public:
  using Reader = std::function<std::uint64_t()>;
  using TextReader = std::function<std::string()>;

  // "label N/s": the change since the previous render, per second.
  void add_rate(std::string label, Reader read);
  // "label N": the current value (drops, errors: totals are what an operator compares).
  void add_total(std::string label, Reader read);
  // "label text": a state (connections up, breaker state).
  void add_text(std::string label, TextReader read);

  // Renders one line for time now_ns (monotonic). The first call reports rates since construction as 0.
  std::string render(std::int64_t now_ns);

 private:
  enum class Kind { kRate, kTotal, kText };
  struct Field {
    std::string label;
    Kind kind;
    Reader read;
    TextReader read_text;
    std::uint64_t last = 0;
  };
  std::vector<Field> fields_;
  std::int64_t last_ns_ = 0;
};

}  // namespace sigflow::engine
