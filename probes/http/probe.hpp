#pragma once

#include "probes/common/http_client.hpp"
#include "probes/common/probe.hpp"

namespace sloprobe::probes {

// `type: http`: one request, checked against `expect`.
class HttpProbe final : public Probe {
 public:
  HttpProbe(config::ProbeConfig config, boost::asio::any_io_executor executor,
            std::shared_ptr<TlsContexts> tls, std::shared_ptr<const config::Redactor> secrets);

  boost::asio::awaitable<ProbeResult> Run() override;
  const config::ProbeConfig& Config() const override { return config_; }

 private:
  config::ProbeConfig config_;
  HttpClient client_;
  std::shared_ptr<const config::Redactor> secrets_;
};

}  // namespace sloprobe::probes
