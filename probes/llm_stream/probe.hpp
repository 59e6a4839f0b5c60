#pragma once

#include "probes/common/http_client.hpp"
#include "probes/common/probe.hpp"

namespace sloprobe::probes {

// What one streamed call learned.
struct LlmCall {
  FetchResult fetch;  // phases, status, certificate (its detail is moved to `detail`)
  Reason reason = Reason::kOk;
  std::string detail;                               // never quotes a value of `scrub`
  std::optional<StreamTimings> stream;              // set whenever a streamed body was read
  std::optional<std::chrono::seconds> retry_after;  // a 429's Retry-After
};

// Sends `request` (its body built) and reads the answer as a stream of
// `api`, timing it. Shared by llm_stream probes and scenario steps.
boost::asio::awaitable<LlmCall> CallLlm(HttpClient& client, const config::HttpRequest& request,
                                        config::LlmApi api, Clock::time_point deadline,
                                        const config::Redactor& scrub, CookieJar* jar = nullptr);

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
