#include "probes/http/probe.hpp"

#include "probes/common/expect.hpp"

namespace sloprobe::probes {

HttpProbe::HttpProbe(config::ProbeConfig config, boost::asio::any_io_executor executor,
                     std::shared_ptr<TlsContexts> tls,
                     std::shared_ptr<const config::Redactor> secrets)
    : config_(std::move(config)),
      client_(std::move(executor), config_.request.tls, std::move(tls),
              config_.request.url.scheme_id() == boost::urls::scheme::https),
      secrets_(std::move(secrets)) {}

boost::asio::awaitable<ProbeResult> HttpProbe::Run() {
  const auto started = Clock::now();
  const auto deadline = started + std::chrono::duration_cast<Duration>(config_.timeout);
  FetchResult fetch = co_await client_.Fetch(config_.request, deadline);

  ProbeResult result;
  result.reason = fetch.reason;
  result.detail = std::move(fetch.detail);
  if (fetch.response && result.Ok()) {
    if (auto failure = CheckResponse(*fetch.response, config_.expect, secrets_.get())) {
      result.reason = failure->reason;
      result.detail = std::move(failure->detail);
      if (result.reason == Reason::kRateLimited) {
        result.retry_after = RateLimitDelay(*fetch.response);
      }
    }
  }
  FinishRequestRun(result, fetch, started, *secrets_);
  co_return result;
}

}  // namespace sloprobe::probes
