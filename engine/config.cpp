#include "engine/config.hpp"

#include <toml++/toml.h>

#include <unistd.h>

#include <algorithm>
#include <set>
#include <sstream>
#include <thread>

#include "engine/frame_ring.hpp"

namespace sigflow::engine {
namespace {

// Reads one TOML table under a dotted path, remembers which keys were read, and rejects the rest: the
// schema is the code that reads it, so it cannot drift from a separate list of allowed keys.
class TableReader {
 public:
  TableReader(const toml::table& table, std::string path, const std::string& source)
      : table_(table), path_(std::move(path)), source_(source) {}

  [[noreturn]] void fail(const toml::node* node, std::string_view key, const std::string& what) const {
    std::ostringstream out;
    out << source_;
    if (node && node->source().begin.line) out << ':' << node->source().begin.line;
    out << ": key '" << dotted(key) << "': " << what;
    throw ConfigError(out.str());
  }

  const toml::node* find(std::string_view key) {
    seen_.insert(std::string(key));
    return table_.get(key);
  }

  template <class T>
  T value(std::string_view key, T fallback) {
    const toml::node* node = find(key);
    if (!node) return fallback;
    if constexpr (std::is_same_v<T, bool>) {
      if (auto v = node->value_exact<bool>()) return *v;
      fail(node, key, "expected true or false");
    } else if constexpr (std::is_integral_v<T>) {
      auto v = node->value_exact<std::int64_t>();
      if (!v) fail(node, key, "expected an integer");
      return static_cast<T>(*v);
    } else {
      if (auto v = node->value_exact<std::string>()) return *v;
      fail(node, key, "expected a string");
    }
  }

  std::int64_t positive(std::string_view key, std::int64_t fallback, std::int64_t max) {
    const std::int64_t v = value<std::int64_t>(key, fallback);
    if (v <= 0 || v > max) fail(table_.get(key), key, "must be in 1.." + std::to_string(max));
    return v;
  }

  std::vector<std::string> strings(std::string_view key) {
    std::vector<std::string> out;
    const toml::node* node = find(key);
    if (!node) return out;
    const toml::array* array = node->as_array();
    if (!array) fail(node, key, "expected an array of strings");
    for (const toml::node& element : *array) {
      auto s = element.value_exact<std::string>();
      if (!s || s->empty()) fail(&element, key, "expected non-empty strings");
      out.push_back(*s);
    }
    return out;
  }

  const toml::table* subtable(std::string_view key) {
    const toml::node* node = find(key);
    if (!node) return nullptr;
    if (!node->is_table()) fail(node, key, "expected a table");
    return node->as_table();
  }

  void reject_unknown() const {
    for (const auto& [key, node] : table_) {
      if (!seen_.count(std::string(key.str()))) fail(&node, key.str(), "unknown key");
    }
  }

  std::string dotted(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
  const std::string& source() const { return source_; }
  const toml::table& table() const { return table_; }

 private:
  const toml::table& table_;
  std::string path_;
  const std::string& source_;
  std::set<std::string> seen_;
};

ThreadConfig read_thread(TableReader& parent, std::string_view name, const toml::node& node) {
  ThreadConfig thread;
  const unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
  // `reader` names the key: the thread's own for the shorthand, its table's for { cpu = N }.
  auto check_cpu = [&](TableReader& reader, const toml::node* at, std::string_view key, std::int64_t cpu) {
    if (cpu < 0 || cpu >= static_cast<std::int64_t>(cpus))
      reader.fail(at, key,
                  "CPU " + std::to_string(cpu) + " does not exist (this machine has CPUs 0.." +
                      std::to_string(cpus - 1) + ")");
    thread.cpu = static_cast<int>(cpu);
  };
  if (auto cpu = node.value_exact<std::int64_t>()) {  // shorthand: feed = 0
    check_cpu(parent, &node, name, *cpu);
    return thread;
  }
  if (!node.is_table())
    parent.fail(&node, name, "expected a CPU number or a table { cpu = N, wait = \"sleep\" }");
  TableReader reader(*node.as_table(), parent.dotted(name), parent.source());
  if (const toml::node* cpu = reader.find("cpu")) {
    auto v = cpu->value_exact<std::int64_t>();
    if (!v) reader.fail(cpu, "cpu", "expected an integer");
    check_cpu(reader, cpu, "cpu", *v);
  }
  const std::string wait = reader.value<std::string>("wait", "sleep");
  if (wait == "busy") {
    thread.wait = WaitMode::kBusyPoll;
  } else if (wait != "sleep") {
    reader.fail(reader.table().get("wait"), "wait", "expected \"sleep\" or \"busy\"");
  }
  if (const toml::node* priority = reader.find("priority")) {
    const auto v = priority->value_exact<std::int64_t>();
    if (!v || *v < 1 || *v > 99) reader.fail(priority, "priority", "expected a SCHED_FIFO priority 1..99");
    // A real-time thread that never sleeps starves everything else on its CPU, including the kernel's own
    // per-CPU work: only on a CPU of its own.
    if (thread.wait == WaitMode::kBusyPoll && !thread.cpu)
      reader.fail(priority, "priority", "a busy-polling real-time thread must be pinned (set cpu)");
    thread.priority = static_cast<int>(*v);
  }
  reader.reject_unknown();
  return thread;
}

void read_threads(TableReader& root, Config& config) {
  const toml::table* table = root.subtable("threads");
  if (!table) return;
  TableReader reader(*table, "threads", root.source());
  for (const auto& [key, node] : *table) {
    const std::string name(key.str());
    if (std::find(std::begin(kThreadNames), std::end(kThreadNames), name) == std::end(kThreadNames))
      reader.fail(&node, name, "unknown thread (known: feed, strategy, sink, status, inference)");
    reader.find(name);
    config.threads[name] = read_thread(reader, name, node);
  }
  // Two busy-polling threads on one CPU starve each other: refuse rather than run slowly.
  std::map<int, std::string> busy;
  for (const auto& [name, thread] : config.threads) {
    if (!thread.cpu || thread.wait != WaitMode::kBusyPoll) continue;
    auto [it, inserted] = busy.emplace(*thread.cpu, name);
    if (!inserted)
      reader.fail(table->get(name), name,
                  "busy-polls on CPU " + std::to_string(*thread.cpu) + " which thread '" + it->second +
                      "' also busy-polls");
  }
  reader.reject_unknown();
}

void check_url(TableReader& reader, std::string_view key, const std::string& url, bool allow_insecure) {
  if (url.rfind("wss://", 0) != 0 && url.rfind("ws://", 0) != 0)
    reader.fail(reader.table().get(key), key, "expected a wss:// (or ws://) URL, got '" + url + "'");
  if (!allow_insecure && is_plaintext_url(url))
    reader.fail(reader.table().get(key), key,
                "'" + url + "' is plaintext; use wss:// or set allow_insecure = true on this endpoint");
}

void check_http_url(TableReader& reader, std::string_view key, const std::string& url, bool allow_insecure) {
  if (url.rfind("https://", 0) != 0 && url.rfind("http://", 0) != 0)
    reader.fail(reader.table().get(key), key, "expected an https:// (or http://) URL, got '" + url + "'");
  if (!allow_insecure && is_plaintext_url(url))
    reader.fail(reader.table().get(key), key,
                "'" + url + "' is plaintext; use https:// or set allow_insecure = true on this endpoint");
}

int line_of(const toml::node* node) {
  return node ? static_cast<int>(node->source().begin.line) : 0;
}

VenueConfig read_venue(TableReader& parent, const std::string& id, const toml::node& node) {
  if (!node.is_table()) parent.fail(&node, id, "expected a table");
  TableReader reader(*node.as_table(), parent.dotted(id), parent.source());
  VenueConfig venue;
  venue.id = id;
  venue.source = parent.source();
  venue.lines[""] = line_of(&node);
  venue.enabled = reader.value<bool>("enabled", true);
  venue.allow_insecure = reader.value<bool>("allow_insecure", false);
  // Every endpoint key any venue takes; app::wire_venues refuses the ones this venue does not.
  for (auto [key, field] : {std::pair{"url", &venue.url}, std::pair{"public_url", &venue.public_url},
                            std::pair{"market_url", &venue.market_url}}) {
    *field = reader.value<std::string>(key, "");
    if (!field->empty()) check_url(reader, key, *field, venue.allow_insecure);
  }
  venue.rest_url = reader.value<std::string>("rest_url", "");
  if (!venue.rest_url.empty()) check_http_url(reader, "rest_url", venue.rest_url, venue.allow_insecure);
  venue.symbols = reader.strings("symbols");
  if (venue.enabled && venue.symbols.empty())
    reader.fail(reader.table().get("symbols"), "symbols", "an enabled venue needs at least one symbol");
  venue.ca_file = reader.value<std::string>("ca_file", "");
  venue.max_message_bytes = static_cast<std::size_t>(
      reader.positive("max_message_bytes", 1 << 20, static_cast<std::int64_t>(kMaxFrameBytes)));
  venue.connect_timeout_ms = reader.positive("connect_timeout_ms", 5'000, 120'000);
  venue.silent_timeout_ms = reader.positive("silent_timeout_ms", 30'000, 3'600'000);
  if (const toml::table* reconnect = reader.subtable("reconnect")) {
    TableReader r(*reconnect, reader.dotted("reconnect"), reader.source());
    venue.reconnect.base_ms = r.positive("base_ms", 250, 60'000);
    venue.reconnect.cap_ms = r.positive("cap_ms", 30'000, 3'600'000);
    venue.reconnect.stable_after_ms = r.positive("stable_after_ms", 10'000, 3'600'000);
    if (venue.reconnect.cap_ms < venue.reconnect.base_ms)
      r.fail(reconnect->get("cap_ms"), "cap_ms", "must not be below base_ms");
    r.reject_unknown();
  }
  if (const toml::table* silence = reader.subtable("topic_silence_ms")) {
    TableReader r(*silence, reader.dotted("topic_silence_ms"), reader.source());
    for (auto [key, field] :
         {std::pair{"book", &venue.book_silence_ms}, std::pair{"bbo", &venue.bbo_silence_ms},
          std::pair{"ticker", &venue.ticker_silence_ms}, std::pair{"trades", &venue.trades_silence_ms}}) {
      if (!r.table().get(key)) continue;
      *field = r.value<std::int64_t>(key, -1);
      if (*field < 0 || *field > 3'600'000)
        r.fail(r.table().get(key), key, "must be in 0..3600000 (0 turns the watch off)");
    }
    r.reject_unknown();
  }
  venue.first_frame_grace_ms = reader.positive("first_frame_grace_ms", 5'000, 600'000);
  reader.reject_unknown();
  for (const auto& [key, value] : *node.as_table()) venue.lines[std::string(key.str())] = line_of(&value);
  return venue;
}

InferenceConfig read_inference(TableReader& r) {
  InferenceConfig c;
  c.enabled = r.value<bool>("enabled", false);
  c.base_url = r.value<std::string>("base_url", "");
  c.model = r.value<std::string>("model", "");
  c.api_key_env = r.value<std::string>("api_key_env", c.api_key_env);
  c.encoding = r.value<std::string>("encoding", c.encoding);
  c.rpm = r.positive("rpm", c.rpm, 10'000'000);
  c.tpm = r.positive("tpm", c.tpm, 10'000'000'000);
  c.max_in_flight = r.positive("max_in_flight", c.max_in_flight, 256);
  c.prompt_token_budget = r.positive("prompt_token_budget", c.prompt_token_budget, 1'000'000);
  c.max_completion_tokens = r.positive("max_completion_tokens", c.max_completion_tokens, 1'000'000);
  c.request_timeout_ms = r.positive("request_timeout_ms", c.request_timeout_ms, 600'000);
  c.ttl_ms = r.positive("ttl_ms", c.ttl_ms, 3'600'000);
  if (const toml::node* node = r.find("stale_move_bps")) {
    std::optional<double> v = node->value_exact<double>();
    if (!v) {
      if (auto i = node->value_exact<std::int64_t>()) v = static_cast<double>(*i);
    }
    if (!v || !(*v > 0) || *v > 10'000) r.fail(node, "stale_move_bps", "expected a number in (0, 10000]");
    c.stale_move_bps = *v;
  }
  c.structured_outputs = r.value<bool>("structured_outputs", c.structured_outputs);
  c.stream = r.value<bool>("stream", c.stream);
  c.max_completion_tokens_field = r.value<bool>("max_completion_tokens_field", c.max_completion_tokens_field);
  c.ca_file = r.value<std::string>("ca_file", "");
  c.allow_insecure = r.value<bool>("allow_insecure", false);
  const toml::table& t = r.table();
  if (c.encoding != "cl100k_base" && c.encoding != "o200k_base")
    r.fail(t.get("encoding"), "encoding", "expected \"cl100k_base\" or \"o200k_base\"");
  if (c.api_key_env.empty() || c.api_key_env.find_first_of(" \t=") != std::string::npos)
    r.fail(t.get("api_key_env"), "api_key_env", "expected the name of an environment variable");
  if (c.enabled) {
    if (c.base_url.rfind("https://", 0) != 0 && c.base_url.rfind("http://", 0) != 0)
      r.fail(t.get("base_url"), "base_url", "expected an https:// URL, got '" + c.base_url + "'");
    // The API key goes in a header: over plaintext anyone on the path reads it.
    if (!c.allow_insecure && is_plaintext_url(c.base_url))
      r.fail(
          t.get("base_url"), "base_url",
          "'" + c.base_url + "' is plaintext; use https:// or set allow_insecure = true under [inference]");
    if (c.model.empty()) r.fail(t.get("model"), "model", "an enabled [inference] needs a model");
  }
  if (c.max_completion_tokens + c.prompt_token_budget > c.tpm)
    r.fail(t.get("prompt_token_budget"), "prompt_token_budget",
           "prompt_token_budget + max_completion_tokens exceed tpm: no request could ever be sent");
  r.reject_unknown();
  return c;
}

bool valid_id(std::string_view id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

// Where a URL's host starts: after "scheme://" and any "user:password@" (0 without a scheme).
std::size_t host_start(std::string_view url) noexcept {
  const std::size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return 0;
  const std::size_t authority = scheme + 3;
  const std::size_t at = url.rfind('@', url.find('/', authority));
  return at == std::string_view::npos || at < authority ? authority : at + 1;
}

// A URL for an error message: user info ("nats://user:password@host") may hold a password, and errors are
// printed and logged.
std::string without_user_info(const std::string& url) {
  const std::size_t host = host_start(url);
  const std::size_t authority = url.find("://") + 3;
  if (host == 0 || host == authority) return url;
  return url.substr(0, authority) + "***@" + url.substr(host);
}

// A NATS subject token or stream name: no separators, wildcards or whitespace.
bool valid_name(std::string_view name) {
  return !name.empty() && name.find_first_of(" \t\r\n.*>/\\") == std::string_view::npos;
}

NatsConfig read_nats(TableReader& r) {
  NatsConfig c;
  const toml::table& t = r.table();
  c.enabled = r.value<bool>("enabled", false);
  if (r.table().get("urls")) {
    c.urls = r.strings("urls");
    if (c.urls.empty()) r.fail(t.get("urls"), "urls", "expected at least one nats:// URL");
  } else {
    r.find("urls");
  }
  for (const std::string& url : c.urls) {
    if (url.rfind("nats://", 0) != 0 && url.rfind("tls://", 0) != 0)
      r.fail(t.get("urls"), "urls", "expected nats:// or tls:// URLs, got '" + without_user_info(url) + "'");
  }
  c.stream = r.value<std::string>("stream", c.stream);
  if (!valid_name(c.stream))
    r.fail(t.get("stream"), "stream", "expected a stream name without '.', '*', '>', '/' or spaces");
  c.subject_prefix = r.value<std::string>("subject_prefix", c.subject_prefix);
  if (c.subject_prefix.empty() || c.subject_prefix.front() == '.' || c.subject_prefix.back() == '.' ||
      c.subject_prefix.find_first_of(" \t*>") != std::string::npos ||
      c.subject_prefix.find("..") != std::string::npos)
    r.fail(t.get("subject_prefix"), "subject_prefix",
           "expected subject tokens like \"sigflow\" (no wildcards)");
  c.max_in_flight = r.positive("max_in_flight", c.max_in_flight, 65'536);
  c.spill_dir = r.value<std::string>("spill_dir", c.spill_dir);
  if (c.spill_dir.empty()) r.fail(t.get("spill_dir"), "spill_dir", "expected a directory");
  c.ack_timeout_ms = r.positive("ack_timeout_ms", c.ack_timeout_ms, 600'000);
  c.duplicate_window_ms = r.positive("duplicate_window_ms", c.duplicate_window_ms, 86'400'000);
  c.fsync_interval_ms = r.value<std::int64_t>("fsync_interval_ms", c.fsync_interval_ms);
  if (c.fsync_interval_ms < 0 || c.fsync_interval_ms > 3'600'000)
    r.fail(t.get("fsync_interval_ms"), "fsync_interval_ms", "must be in 0..3600000");
  // Only the path: the file's content (a JWT and an NKey seed) is read by cnats and never by this code.
  c.credentials_file = r.value<std::string>("credentials_file", "");
  c.allow_insecure = r.value<bool>("allow_insecure", false);
  if (c.enabled && !c.allow_insecure) {
    for (const std::string& url : c.urls) {
      if (is_plaintext_remote_nats_url(url))
        r.fail(t.get("urls"), "urls",
               "'" + without_user_info(url) +
                   "' is plaintext beyond loopback; use tls:// or set allow_insecure = true under [nats]");
    }
  }
  r.reject_unknown();
  return c;
}

Config read(const toml::table& root_table, const std::string& source) {
  Config config;
  config.source = source;
  TableReader root(root_table, "", source);
  read_threads(root, config);
  if (const toml::table* t = root.subtable("ring")) {
    TableReader r(*t, "ring", source);
    config.ring.arena_bytes =
        static_cast<std::size_t>(r.positive("arena_bytes", 32 << 20, std::int64_t{4} << 30));
    config.ring.max_frames = static_cast<std::size_t>(r.positive("max_frames", 65'536, 1 << 24));
    const std::string pages = r.value<std::string>("huge_pages", "off");
    if (pages == "transparent") {
      config.ring.pages = PageMode::kTransparent;
    } else if (pages == "reserved") {
      config.ring.pages = PageMode::kReserved;
    } else if (pages != "off") {
      r.fail(t->get("huge_pages"), "huge_pages", "expected \"off\", \"transparent\" or \"reserved\"");
    }
    r.reject_unknown();
  }
  // A config file serves /metrics unless it says otherwise (see MetricsConfig).
  config.metrics.enabled = true;
  if (const toml::table* t = root.subtable("metrics")) {
    TableReader r(*t, "metrics", source);
    config.metrics.enabled = r.value<bool>("enabled", true);
    const std::string listen = r.value<std::string>("listen", "127.0.0.1:9464");
    const auto colon = listen.rfind(':');
    const std::string port = colon == std::string::npos ? "" : listen.substr(colon + 1);
    const bool numeric = !port.empty() && port.size() <= 5 &&
                         std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!numeric || std::stoi(port) > 65535 || colon == 0)
      r.fail(t->get("listen"), "listen", "expected \"address:port\", e.g. \"127.0.0.1:9464\"");
    config.metrics.address = listen.substr(0, colon);
    config.metrics.port = static_cast<std::uint16_t>(std::stoi(port));
    r.reject_unknown();
  }
  if (const toml::table* t = root.subtable("process")) {
    TableReader r(*t, "process", source);
    config.process.mlockall = r.value<bool>("mlockall", false);
    r.reject_unknown();
  }
  if (const toml::table* t = root.subtable("strategy")) {
    TableReader r(*t, "strategy", source);
    config.strategy.cycle_ms = r.positive("cycle_ms", 50, 60'000);
    config.strategy.stale_after_ms = r.positive("stale_after_ms", 5'000, 3'600'000);
    r.reject_unknown();
  }
  if (const toml::table* t = root.subtable("inference")) {
    TableReader r(*t, "inference", source);
    config.inference = read_inference(r);
  }
  config.engine.id = default_engine_id();
  if (const toml::table* t = root.subtable("engine")) {
    TableReader r(*t, "engine", source);
    config.engine.id = r.value<std::string>("id", config.engine.id);
    if (!valid_id(config.engine.id))
      r.fail(t->get("id"), "id", "expected 1..64 characters of A-Z a-z 0-9 _ -");
    r.reject_unknown();
  }
  if (const toml::table* t = root.subtable("shard")) {
    TableReader r(*t, "shard", source);
    config.shard.count = r.positive("count", 1, 65'536);
    config.shard.index = r.value<std::int64_t>("index", 0);
    if (config.shard.index < 0 || config.shard.index >= config.shard.count)
      r.fail(t->get("index"), "index",
             "must be in 0..count-1 (count = " + std::to_string(config.shard.count) + ")");
    r.reject_unknown();
  }
  if (const toml::table* t = root.subtable("nats")) {
    TableReader r(*t, "nats", source);
    config.nats = read_nats(r);
  }
  if (const toml::table* t = root.subtable("venues")) {
    TableReader r(*t, "venues", source);
    for (const auto& [key, node] : *t) {
      r.find(key.str());
      config.venues.push_back(read_venue(r, std::string(key.str()), node));
    }
    r.reject_unknown();
  }
  if (const toml::table* t = root.subtable("sink")) {
    TableReader r(*t, "sink", source);
    config.signals_path = r.value<std::string>("signals", "-");
    r.reject_unknown();
  }
  if (const toml::table* t = root.subtable("status")) {
    TableReader r(*t, "status", source);
    config.status_interval_ms = r.positive("interval_ms", 1'000, 3'600'000);
    r.reject_unknown();
  }
  root.reject_unknown();
  if (std::none_of(config.venues.begin(), config.venues.end(),
                   [](const VenueConfig& v) { return v.enabled; }))
    throw ConfigError(source + ": no enabled venue under [venues]");
  return config;
}

}  // namespace

bool is_plaintext_url(std::string_view url) noexcept {
  return url.starts_with("ws://") || url.starts_with("http://");
}

bool is_plaintext_remote_nats_url(std::string_view url) noexcept {
  if (!url.starts_with("nats://")) return false;
  std::string_view host = url.substr(host_start(url));
  host = host.substr(0, host.find('/'));
  if (host.starts_with("[")) {
    host = host.substr(0, host.find(']') + 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  return !(is_loopback_address(host) || host == "localhost" || host == "[::1]");
}

bool is_loopback_address(std::string_view address) noexcept {
  return address.starts_with("127.");
}

std::vector<std::string> insecure_endpoints(const Config& config) {
  std::vector<std::string> out;
  for (const VenueConfig& v : config.venues) {
    if (!v.enabled) continue;
    if (is_plaintext_url(v.url) || is_plaintext_url(v.public_url) || is_plaintext_url(v.market_url) ||
        is_plaintext_url(v.rest_url))
      out.push_back("venues." + v.id);
  }
  if (config.inference.enabled && is_plaintext_url(config.inference.base_url)) out.push_back("inference");
  if (config.nats.enabled &&
      std::any_of(config.nats.urls.begin(), config.nats.urls.end(),
                  [](const std::string& url) { return is_plaintext_remote_nats_url(url); }))
    out.push_back("nats");
  return out;
}

std::vector<std::string> security_notices(const Config& config) {
  std::vector<std::string> out;
  for (const std::string& endpoint : insecure_endpoints(config))
    out.push_back(endpoint +
                  ": plaintext endpoint (allow_insecure = true): traffic is neither encrypted nor "
                  "authenticated");
  if (config.metrics.enabled && !is_loopback_address(config.metrics.address))
    out.push_back("metrics: listening on " + config.metrics.address + ":" +
                  std::to_string(config.metrics.port) +
                  ", not loopback: anyone who can reach this address can read the metrics");
  return out;
}

std::string VenueConfig::where(std::string_view key) const {
  const auto it = lines.find(key);
  const int line = it != lines.end() ? it->second : lines.count("") ? lines.find("")->second : 0;
  std::string out = source;
  if (line > 0) out += ":" + std::to_string(line);
  out += ": key 'venues." + id;
  if (!key.empty()) out += "." + std::string(key);
  return out + "'";
}

std::string default_engine_id() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "sigflow";
  std::string id(host);
  if (id.size() > 64) id.resize(64);
  for (char& c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
      c = '-';
  return id;
}

const ThreadConfig& Config::thread(std::string_view name) const {
  static const ThreadConfig kUnpinned{};
  auto it = threads.find(std::string(name));
  return it == threads.end() ? kUnpinned : it->second;
}

namespace {

[[noreturn]] void throw_parse_error(const toml::parse_error& error, const std::string& source) {
  const auto line = error.source().begin.line;
  throw ConfigError(source + (line ? ":" + std::to_string(line) : std::string()) + ": " +
                    std::string(error.description()));
}

}  // namespace

Config load_config_text(std::string_view text, const std::string& source_name) {
  toml::table table;
  try {
    table = toml::parse(text, source_name);
  } catch (const toml::parse_error& error) {
    throw_parse_error(error, source_name);
  }
  return read(table, source_name);
}

Config load_config_file(const std::string& path) {
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& error) {
    throw_parse_error(error, path);
  }
  return read(table, path);
}

}  // namespace sigflow::engine
