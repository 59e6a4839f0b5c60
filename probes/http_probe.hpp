#pragma once

#include "probes/http_client.hpp"
#include "probes/probe.hpp"

namespace sloprobe::probes {

// Ends a one-request run (http and llm_stream probes): sets its duration,
// puts a failure on the "request" step and scrubs `secrets` from its
// detail, and records that step's phases and status.
void FinishRequestRun(ProbeResult& result, const FetchResult& fetch, Clock::time_point started,
                      const config::Redactor& secrets);

// `type: http`: one request, checked against `expect`.
class HttpProbe final : public Probe {
 public:
  HttpProbe(config::ProbeConfig config, boost::asio::any_io_executor executor,
            std::shared_ptr<TlsContexts> tls, std::shared_ptr<const config::Redactor> secrets);

  boost::asio::awaitable<ProbeResult> Run() override;
  const config::ProbeConfig& Config() const override { return config_; }

  // The step name of an http probe's only request in step-labelled metrics.
  static constexpr std::string_view kStepName = "request";

 private:
  config::ProbeConfig config_;
  HttpClient client_;
  std::shared_ptr<const config::Redactor> secrets_;
};

}  // namespace sloprobe::probes
