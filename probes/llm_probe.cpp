#include "probes/llm_probe.hpp"

#include <boost/beast/http/field.hpp>

#include "probes/expect.hpp"
#include "probes/http_probe.hpp"
#include "probes/llm_stream.hpp"
#include "probes/variables.hpp"

namespace sloprobe::probes {
namespace {

namespace http = boost::beast::http;

// Takes a 2xx streamed body into a StreamTimer. Other responses (error
// statuses, a JSON body where a stream was asked for) are left to be
// collected whole and judged after the fetch.
class StreamReader final : public BodySink {
 public:
  StreamReader(LlmApi api, const config::Redactor& scrub) : api_(api), scrub_(scrub) {}

  bool Begin(const HttpResponse& head, Clock::time_point sent,
             Clock::time_point first_byte) override {
    timer_.reset();
    decoder_.reset();
    if (head.status < 200 || head.status > 299) return false;
    if (head.headers[http::field::content_type].starts_with("application/json")) return false;
    timer_.emplace(sent);
    timer_->FirstByte(first_byte);
    decoder_.emplace(api_, *timer_, &scrub_);
    return true;
  }
  bool Data(std::string_view bytes, Clock::time_point at) override {
    return decoder_->Feed(bytes, at);
  }
  void End(Clock::time_point at) override { timer_->End(at); }

  const std::optional<StreamTimer>& Timer() const { return timer_; }

 private:
  LlmApi api_;
  const config::Redactor& scrub_;
  std::optional<StreamTimer> timer_;
  std::optional<StreamDecoder> decoder_;  // refers to *timer_
};

// A whole (not streamed) response: an error status, or JSON where a stream
// was asked for.
void JudgeWholeResponse(LlmApi api, const HttpResponse& response, const config::Redactor& scrub,
                        ProbeResult& result) {
  static const config::Expectations kSuccess;  // 2xx
  if (auto failure = CheckResponse(response, kSuccess, &scrub)) {
    result.reason = failure->reason;
    result.detail = std::move(failure->detail);
    if (result.reason == Reason::kRateLimited) result.retry_after = RateLimitDelay(response);
    return;
  }
  const auto item = InterpretChunk(api, "message", response.body);
  if (item.error) {
    result.reason = Reason::kStreamError;
    result.detail = "error in the response: " + QuoteError(item.error_detail, &scrub);
  } else {
    result.reason = Reason::kProtocol;
    result.detail =
        "answered with a JSON body instead of a stream (is streaming turned off "
        "by a proxy or by 'extra_body'?)";
  }
}

}  // namespace

LlmStreamProbe::LlmStreamProbe(config::ProbeConfig config, boost::asio::any_io_executor executor,
                               std::shared_ptr<TlsContexts> tls,
                               std::shared_ptr<const config::Redactor> secrets)
    : config_(std::move(config)),
      client_(std::move(executor), config_.request.tls, std::move(tls),
              config_.request.url.scheme_id() == boost::urls::scheme::https),
      secrets_(std::move(secrets)) {
  if (!config_.llm.nonce) config_.request.body = BuildLlmBody(config_.llm, {});
}

boost::asio::awaitable<ProbeResult> LlmStreamProbe::Run() {
  const auto started = Clock::now();
  const auto deadline = started + std::chrono::duration_cast<Duration>(config_.timeout);
  StreamReader reader(config_.llm.api, *secrets_);
  FetchResult fetch;
  if (config_.llm.nonce) {
    config::HttpRequest request = config_.request;
    request.body = BuildLlmBody(config_.llm, NewUuid());
    fetch = co_await client_.Fetch(request, deadline, nullptr, &reader);
  } else {
    fetch = co_await client_.Fetch(config_.request, deadline, nullptr, &reader);
  }

  ProbeResult result;
  result.reason = fetch.reason;
  result.detail = std::move(fetch.detail);
  if (const auto& timer = reader.Timer()) {
    auto summary = timer->Finish();
    if (result.Ok()) {
      result.reason = summary.reason;
      result.detail = std::move(summary.detail);
    } else {
      // The transport failed first (timeout, reset); say how far it got.
      result.detail += " after " + std::to_string(summary.token_items) + " token chunk(s)";
    }
    result.stream = static_cast<StreamTimings&&>(std::move(summary));
  } else if (fetch.response && result.Ok()) {
    JudgeWholeResponse(config_.llm.api, *fetch.response, *secrets_, result);
  }
  FinishRequestRun(result, fetch, started, *secrets_);
  co_return result;
}

}  // namespace sloprobe::probes
