#include "io/nats/jetstream_consumer.hpp"

#include <nats/nats.h>

#include <stdexcept>

namespace sigflow::io::nats {
namespace {

[[noreturn]] void fail(const std::string& what, natsStatus s, jsErrCode code = static_cast<jsErrCode>(0)) {
  std::string message = "nats: " + what + ": " + natsStatus_GetText(s);
  if (code) message += " (JetStream error " + std::to_string(static_cast<int>(code)) + ")";
  throw std::runtime_error(message);
}

}  // namespace

JetStreamConsumer::JetStreamConsumer(ConsumerOptions options) {
  natsOptions* opts = nullptr;
  natsStatus s = natsOptions_Create(&opts);
  std::vector<const char*> servers;
  for (const std::string& url : options.urls) servers.push_back(url.c_str());
  if (s == NATS_OK) s = natsOptions_SetServers(opts, servers.data(), static_cast<int>(servers.size()));
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts, 2'000);
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, 1'000'000'000);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, 250);
  if (s == NATS_OK && !options.credentials_file.empty())
    s = natsOptions_SetUserCredentialsFromFiles(opts, options.credentials_file.c_str(), nullptr);
  if (s == NATS_OK) s = natsConnection_Connect(&nc_, opts);
  natsOptions_Destroy(opts);
  if (s != NATS_OK) fail("cannot connect", s);
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = 5'000;
  s = natsConnection_JetStream(&js_, nc_, &jo);
  if (s != NATS_OK) {
    natsConnection_Destroy(nc_);
    fail("no JetStream context", s);
  }
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = options.stream.c_str();
  so.Config.AckPolicy = js_AckExplicit;
  so.Config.DeliverPolicy = js_DeliverAll;
  jsErrCode code = static_cast<jsErrCode>(0);
  s = js_PullSubscribe(&sub_, js_, options.subject.c_str(), options.durable.c_str(), &jo, &so, &code);
  if (s != NATS_OK) {
    jsCtx_Destroy(js_);
    natsConnection_Destroy(nc_);
    fail("cannot bind durable consumer '" + options.durable + "' on stream '" + options.stream + "'", s,
         code);
  }
}

JetStreamConsumer::~JetStreamConsumer() {
  // Unsubscribe would delete the durable consumer; destroying the subscription keeps it for the next run.
  natsSubscription_Destroy(sub_);
  jsCtx_Destroy(js_);
  natsConnection_Destroy(nc_);
}

int JetStreamConsumer::fetch(int batch, std::int64_t timeout_ms, const Handler& handler) {
  natsMsgList list{};
  jsErrCode code = static_cast<jsErrCode>(0);
  const natsStatus s = natsSubscription_Fetch(&list, sub_, batch, timeout_ms, &code);
  if (s == NATS_TIMEOUT) return 0;
  if (s != NATS_OK) return -1;
  int handled = 0;
  for (int i = 0; i < list.Count; ++i) {
    natsMsg* msg = list.Msgs[i];
    handler(natsMsg_GetSubject(msg),
            std::string_view(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg))));
    natsMsg_Ack(msg, nullptr);
    ++handled;
  }
  natsMsgList_Destroy(&list);
  return handled;
}

}  // namespace sigflow::io::nats
