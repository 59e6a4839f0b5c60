#pragma once

#include "probes/http_client.hpp"
#include "probes/probe.hpp"

namespace sloprobe::probes {

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
