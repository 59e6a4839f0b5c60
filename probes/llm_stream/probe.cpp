#include "probes/llm_stream/probe.hpp"

#include <boost/beast/http/field.hpp>

#include "probes/common/expect.hpp"
#include "probes/common/variables.hpp"
#include "probes/llm_stream/wire.hpp"

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
                        LlmCall& call) {
  static const config::Expectations kSuccess;  // 2xx
  if (auto failure = CheckResponse(response, kSuccess, &scrub)) {
    call.reason = failure->reason;
    call.detail = std::move(failure->detail);
    if (call.reason == Reason::kRateLimited) call.retry_after = RateLimitDelay(response);
    return;
  }
  const auto item = InterpretChunk(api, "message", response.body);
  if (item.error) {
    call.reason = Reason::kStreamError;
    call.detail = "error in the response: " + QuoteError(item.error_detail, &scrub);
  } else {
    call.reason = Reason::kProtocol;
    call.detail =
        "answered with a JSON body instead of a stream (is streaming turned off "
        "by a proxy or by 'extra_body'?)";
  }
}

}  // namespace

boost::asio::awaitable<LlmCall> CallLlm(HttpClient& client, const config::HttpRequest& request,
                                        LlmApi api, Clock::time_point deadline,
                                        const config::Redactor& scrub, CookieJar* jar) {
  StreamReader reader(api, scrub);
  LlmCall call;
  call.fetch = co_await client.Fetch(request, deadline, jar, &reader);
  call.reason = call.fetch.reason;
  call.detail = std::move(call.fetch.detail);
  if (const auto& timer = reader.Timer()) {
    auto summary = timer->Finish();
    if (call.reason == Reason::kOk) {
      call.reason = summary.reason;
      call.detail = std::move(summary.detail);
    } else {
      // The transport failed first (timeout, reset); say how far it got.
      call.detail += " after " + std::to_string(summary.token_items) + " token chunk(s)";
    }
    call.stream = static_cast<StreamTimings&&>(std::move(summary));
  } else if (call.fetch.response && call.reason == Reason::kOk) {
    JudgeWholeResponse(api, *call.fetch.response, scrub, call);
  }
  co_return call;
}

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
  LlmCall call;
  if (config_.llm.nonce) {
    config::HttpRequest request = config_.request;
    request.body = BuildLlmBody(config_.llm, NewUuid());
    call = co_await CallLlm(client_, request, config_.llm.api, deadline, *secrets_);
  } else {
    call = co_await CallLlm(client_, config_.request, config_.llm.api, deadline, *secrets_);
  }
  ProbeResult result;
  result.reason = call.reason;
  result.detail = std::move(call.detail);
  result.stream = std::move(call.stream);
  result.retry_after = call.retry_after;
  FinishRequestRun(result, call.fetch, started, *secrets_);
  co_return result;
}

}  // namespace sloprobe::probes
