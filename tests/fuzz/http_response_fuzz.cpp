// libFuzzer: any bytes as the server's answer to a request, through the client's parsing path
// (HttpResponseReader: Beast's response_parser, the body sink, the limits), in both delivery modes.
// The first byte picks the mode and where the input is split, as the network splits it anywhere; the
// connection then ends, as a server closing mid-response would. A second response on the same reader checks
// that nothing leaks from one response to the next.
#include <cstdint>
#include <string>
#include <string_view>

#include "io/http_response_reader.hpp"

namespace {

struct Streaming final : sigflow::io::HttpResponseHandler {
  void on_head(const sigflow::io::HttpResponse& response) override {
    status = response.status();
    (void)response.header("content-type");
    (void)response.keep_alive();
    (void)response.header_count();
  }
  bool on_body(std::string_view bytes) override {
    received += bytes.size();
    return received < stop_after;
  }
  void on_complete(const sigflow::io::HttpError&, const sigflow::io::HttpResponse*) override {}
  unsigned status = 0;
  std::size_t received = 0;
  std::size_t stop_after = 0;
};

void inspect(const sigflow::io::HttpResponseReader& reader) {
  if (!reader.header_done()) return;
  const sigflow::io::HttpResponse r = reader.response();
  (void)r.status();
  (void)r.reason();
  (void)r.header("retry-after");
  r.for_each_header(
      [](std::string_view name, std::string_view value) { (void)(name.size() + value.size()); });
  if (r.body().size() > 4096) __builtin_trap();  // the limit below must hold
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t control = data[0];
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::size_t split = input.empty() ? 0 : (control >> 2) % (input.size() + 1);

  static sigflow::io::HttpResponseReader reader(2048, 4096);
  Streaming streaming;
  streaming.stop_after = (control & 2) ? 64 : ~std::size_t{0};
  for (int round = 0; round < 2; ++round) {
    reader.start((control & 4) != 0, (control & 1) ? &streaming : nullptr);
    auto status = reader.feed(input.substr(0, split));
    if (status == sigflow::io::HttpResponseReader::Status::kNeedMore)
      status = reader.feed(input.substr(split));
    if (status == sigflow::io::HttpResponseReader::Status::kNeedMore) status = reader.finish_at_eof();
    if (status == sigflow::io::HttpResponseReader::Status::kFailed && reader.error().empty())
      __builtin_trap();
    inspect(reader);
  }
  return 0;
}
