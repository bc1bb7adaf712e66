#include "engine/metrics_registry.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace sigflow::engine {

struct MetricsRegistry::Series {
  std::string labels;  // rendered `k="v",k2="v2"`, escaped, without braces
  MetricLabels sorted_labels;
  std::function<std::uint64_t()> read_count;
  std::function<double()> read_gauge;
  std::vector<const LatencyHistogram*> histograms;
};

struct MetricsRegistry::Family {
  std::string name;
  std::string help;
  Type type;
  std::vector<Series> series;
};

namespace {

bool is_name_start(char c, bool colon_allowed) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon_allowed && c == ':');
}
bool is_name_char(char c, bool colon_allowed) {
  return is_name_start(c, colon_allowed) || (c >= '0' && c <= '9');
}

bool is_valid_name(std::string_view name, bool colon_allowed) {
  if (name.empty() || !is_name_start(name.front(), colon_allowed)) return false;
  return std::all_of(name.begin(), name.end(), [&](char c) { return is_name_char(c, colon_allowed); });
}

// The format escapes backslash and newline in HELP text, and also the double quote in label values.
void append_escaped(std::string& out, std::string_view text, bool escape_quote) {
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && escape_quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

void append_uint(std::string& out, std::uint64_t value) {
  char buf[24];
  const auto result = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, result.ptr);
}

void append_double(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
  } else if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[32];
    const auto result = std::to_chars(buf, buf + sizeof buf, value);
    out.append(buf, result.ptr);
  }
}

// `name{labels,extra} `: the braces are left out when there is no label at all.
void append_sample_start(std::string& out, std::string_view name, std::string_view suffix,
                         std::string_view labels, std::string_view extra_label = {}) {
  out += name;
  out += suffix;
  if (!labels.empty() || !extra_label.empty()) {
    out += '{';
    out += labels;
    if (!labels.empty() && !extra_label.empty()) out += ',';
    out += extra_label;
    out += '}';
  }
  out += ' ';
}

constexpr std::string_view kHistogramSuffixes[] = {"_bucket", "_sum", "_count"};

}  // namespace

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Series& MetricsRegistry::add_series(std::string_view name, std::string_view help, Type type,
                                                     MetricLabels labels) {
  const std::string name_text(name);
  if (!is_valid_name(name, true)) throw std::invalid_argument("invalid metric name: '" + name_text + "'");
  for (const auto& [key, value] : labels) {
    // Names starting with __ are reserved for Prometheus itself; `le` is the histograms' bucket label.
    if (!is_valid_name(key, false) || key.starts_with("__") || (type == Type::kHistogram && key == "le")) {
      throw std::invalid_argument("invalid label name '" + key + "' on metric " + name_text);
    }
  }
  std::sort(labels.begin(), labels.end());
  MetricLabels sorted = labels;
  for (std::size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i].first == sorted[i - 1].first) {
      throw std::invalid_argument("label '" + sorted[i].first + "' given twice on metric " + name_text);
    }
  }

  Family* family = nullptr;
  for (const auto& existing : families_) {
    if (existing->name == name) {
      family = existing.get();
      continue;
    }
    // A histogram family also owns the sample names <name>_bucket, _sum and _count.
    for (const auto suffix : kHistogramSuffixes) {
      if ((existing->type == Type::kHistogram && existing->name + std::string(suffix) == name) ||
          (type == Type::kHistogram && name_text + std::string(suffix) == existing->name)) {
        throw std::invalid_argument("metric " + name_text + " collides with histogram samples of " +
                                    existing->name);
      }
    }
  }
  if (family == nullptr) {
    families_.push_back(std::make_unique<Family>(Family{name_text, std::string(help), type, {}}));
    family = families_.back().get();
  } else if (family->type != type || family->help != help) {
    throw std::invalid_argument("metric " + name_text + " registered again with a different type or help");
  }
  for (const auto& series : family->series) {
    if (series.sorted_labels == sorted) {
      throw std::invalid_argument("metric " + name_text + " registered twice with the same labels");
    }
  }
  // Registration order, not sorted order, so that the output reads as the caller wrote it.
  std::string rendered;
  for (const auto& [key, value] : labels) {
    if (!rendered.empty()) rendered += ',';
    rendered += key;
    rendered += "=\"";
    append_escaped(rendered, value, true);
    rendered += '"';
  }
  family->series.push_back(Series{std::move(rendered), std::move(sorted), {}, {}, {}});
  return family->series.back();
}

void MetricsRegistry::add_counter(std::string_view name, std::string_view help, MetricLabels labels,
                                  const Counter& source) {
  add_counter(name, help, std::move(labels), [&source] { return source.load(); });
}

void MetricsRegistry::add_counter(std::string_view name, std::string_view help, MetricLabels labels,
                                  const SharedCounter& source) {
  add_counter(name, help, std::move(labels), [&source] { return source.load(); });
}

void MetricsRegistry::add_counter(std::string_view name, std::string_view help, MetricLabels labels,
                                  std::function<std::uint64_t()> read) {
  if (!read) throw std::invalid_argument("counter " + std::string(name) + " has no reader");
  add_series(name, help, Type::kCounter, std::move(labels)).read_count = std::move(read);
}

void MetricsRegistry::add_gauge(std::string_view name, std::string_view help, MetricLabels labels,
                                const HighWater& source) {
  add_gauge(name, help, std::move(labels), [&source] { return static_cast<double>(source.load()); });
}

void MetricsRegistry::add_gauge(std::string_view name, std::string_view help, MetricLabels labels,
                                std::function<double()> read) {
  if (!read) throw std::invalid_argument("gauge " + std::string(name) + " has no reader");
  add_series(name, help, Type::kGauge, std::move(labels)).read_gauge = std::move(read);
}

void MetricsRegistry::add_histogram(std::string_view name, std::string_view help, MetricLabels labels,
                                    const LatencyHistogram& source) {
  add_histogram(name, help, std::move(labels), std::vector<const LatencyHistogram*>{&source});
}

void MetricsRegistry::add_histogram(std::string_view name, std::string_view help, MetricLabels labels,
                                    std::vector<const LatencyHistogram*> sources) {
  if (sources.empty() || std::find(sources.begin(), sources.end(), nullptr) != sources.end()) {
    throw std::invalid_argument("histogram " + std::string(name) + " needs at least one source");
  }
  add_series(name, help, Type::kHistogram, std::move(labels)).histograms = std::move(sources);
}

std::string MetricsRegistry::render() const {
  std::string out;
  // Snapshots are 31 KiB each: on the heap, and per call so that concurrent scrapes do not share them.
  auto scratch = std::make_unique<HistogramSnapshot>();
  auto merged = std::make_unique<HistogramSnapshot>();
  for (const auto& family : families_) {
    out += "# HELP ";
    out += family->name;
    out += ' ';
    append_escaped(out, family->help, false);
    out += "\n# TYPE ";
    out += family->name;
    switch (family->type) {
      case Type::kCounter:
        out += " counter\n";
        break;
      case Type::kGauge:
        out += " gauge\n";
        break;
      case Type::kHistogram:
        out += " histogram\n";
        break;
    }
    for (const auto& series : family->series) {
      if (family->type == Type::kCounter) {
        append_sample_start(out, family->name, "", series.labels);
        append_uint(out, series.read_count());
        out += '\n';
        continue;
      }
      if (family->type == Type::kGauge) {
        append_sample_start(out, family->name, "", series.labels);
        append_double(out, series.read_gauge());
        out += '\n';
        continue;
      }
      *merged = HistogramSnapshot{};
      for (const auto* histogram : series.histograms) {
        histogram->snapshot_into(*scratch);
        merged->merge(*scratch);
      }
      std::string le;
      for (const auto& bound : kLatencyBucketBounds) {
        le = "le=\"";
        le += bound.le;
        le += '"';
        append_sample_start(out, family->name, "_bucket", series.labels, le);
        append_uint(out, merged->count_at_or_below(bound.ns));
        out += '\n';
      }
      append_sample_start(out, family->name, "_bucket", series.labels, "le=\"+Inf\"");
      append_uint(out, merged->count);
      out += '\n';
      append_sample_start(out, family->name, "_sum", series.labels);
      append_double(out, static_cast<double>(merged->sum_ns) / 1e9);
      out += '\n';
      append_sample_start(out, family->name, "_count", series.labels);
      append_uint(out, merged->count);
      out += '\n';
    }
  }
  return out;
}

}  // namespace sigflow::engine
