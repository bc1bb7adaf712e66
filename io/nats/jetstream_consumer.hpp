#pragma once
// JetStreamConsumer: a durable pull consumer on a JetStream stream, for `sigflow tail` and the tests. A
// message is acknowledged after the callback returned, so a consumer that dies mid-batch sees the
// unacknowledged rest again under the same durable name; one that reads to the end and restarts continues
// where it stopped.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

struct __natsConnection;
struct __jsCtx;
struct __natsSubscription;

namespace sigflow::io::nats {

struct ConsumerOptions {
  std::vector<std::string> urls{"nats://127.0.0.1:4222"};
  std::string stream = "SIGFLOW";
  std::string subject = "sigflow.signals.>";
  std::string durable = "sigflow-tail";
  std::string credentials_file;  // never read or logged here, only handed to cnats
};

class JetStreamConsumer {
 public:
  // Connects and binds the durable consumer (created when missing). Throws std::runtime_error with the
  // reason when the server, the stream or the consumer cannot be reached.
  explicit JetStreamConsumer(ConsumerOptions options);
  ~JetStreamConsumer();
  JetStreamConsumer(const JetStreamConsumer&) = delete;
  JetStreamConsumer& operator=(const JetStreamConsumer&) = delete;

  using Handler = std::function<void(std::string_view subject, std::string_view data)>;
  // Waits up to `timeout_ms` for up to `batch` messages, hands each to `handler` and acknowledges it.
  // Returns how many were handled (0 when none came in time), or -1 on an error other than a timeout.
  int fetch(int batch, std::int64_t timeout_ms, const Handler& handler);

 private:
  __natsConnection* nc_ = nullptr;
  __jsCtx* js_ = nullptr;
  __natsSubscription* sub_ = nullptr;
};

}  // namespace sigflow::io::nats
