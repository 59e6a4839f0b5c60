#pragma once

#include "probes/http_client.hpp"
#include "probes/probe.hpp"

namespace sloprobe::probes {

// `type: llm_stream`: one streamed chat completion (OpenAI, Anthropic or
// Ollama), timed as the body arrives: first byte, first token, every gap
// between token chunks, last token, end of stream. Reading stops at the
// stream's end marker; the run fails with stream_error, protocol,
// truncated or no_tokens when the stream says so (docs/metrics.md).
class LlmStreamProbe final : public Probe {
 public:
  LlmStreamProbe(config::ProbeConfig config, boost::asio::any_io_executor executor,
                 std::shared_ptr<TlsContexts> tls, std::shared_ptr<const config::Redactor> secrets);

  boost::asio::awaitable<ProbeResult> Run() override;
  const config::ProbeConfig& Config() const override { return config_; }

 private:
  config::ProbeConfig config_;  // without a nonce, request.body is built once
  HttpClient client_;
  std::shared_ptr<const config::Redactor> secrets_;
};

}  // namespace sloprobe::probes
