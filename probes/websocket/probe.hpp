#pragma once

#include "probes/common/http_client.hpp"
#include "probes/common/probe.hpp"

namespace sloprobe::probes {

// Connects (ws or wss), upgrades with `request`'s headers and exchanges
// `exchange`'s messages. Fills `step`: phases, status, reason, detail
// (scrubbed of `scrub`), round trips and duration from `started` (up to the
// last reply; the close that follows is not part of it). Returns the leaf
// certificate's expiry when the connection used TLS. Shared by websocket
// probes and scenario steps.
boost::asio::awaitable<std::optional<std::int64_t>> ExchangeWebSocket(
    HttpClient& client, const config::HttpRequest& request,
    const config::WebSocketExchange& exchange, Clock::time_point started,
    Clock::time_point deadline, const config::Redactor& scrub, StepResult& step);

// `type: websocket`: connects (ws or wss), upgrades, then sends the
// configured message `messages` times, each time waiting for the first
// message back that matches `reply`; every such round trip is timed.
// Phases: resolve, connect, tls, upgrade, on the step kRequestStep.
// Closes with a close frame when done. Fails with auth or rate_limited
// (401/403, 429) or http_status when the upgrade is refused, protocol when the server closes the
// WebSocket or breaks the framing, body_too_large for a message over `body_limit`, and timeout,
// naming the message it was waiting for.
class WebSocketProbe final : public Probe {
 public:
  WebSocketProbe(config::ProbeConfig config, boost::asio::any_io_executor executor,
                 std::shared_ptr<TlsContexts> tls, std::shared_ptr<const config::Redactor> secrets);

  boost::asio::awaitable<ProbeResult> Run() override;
  const config::ProbeConfig& Config() const override { return config_; }

 private:
  config::ProbeConfig config_;
  HttpClient client_;
  std::shared_ptr<const config::Redactor> secrets_;
};

}  // namespace sloprobe::probes
