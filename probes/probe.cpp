#include "probes/probe.hpp"

#include <stdexcept>

#include "probes/http_probe.hpp"
#include "probes/llm_probe.hpp"
#include "probes/scenario_probe.hpp"
#include "probes/websocket_probe.hpp"

namespace sloprobe::probes {

boost::asio::awaitable<ProbeResult> RunGuarded(Probe& probe) {
  ProbeResult result;
  try {
    result = co_await probe.Run();
  } catch (const std::exception& e) {
    result.reason = Reason::kProtocol;
    result.detail = std::string("internal error: ") + e.what();
  }
  co_return result;
}

std::shared_ptr<Probe> MakeProbe(const config::ProbeConfig& config,
                                 boost::asio::any_io_executor executor,
                                 std::shared_ptr<TlsContexts> tls,
                                 std::shared_ptr<const config::Redactor> secrets) {
  if (!secrets) secrets = std::make_shared<const config::Redactor>();
  try {
    switch (config.type) {
      case config::ProbeType::kHttp:
        return std::make_shared<HttpProbe>(config, std::move(executor), std::move(tls),
                                           std::move(secrets));
      case config::ProbeType::kScenario:
        return std::make_shared<ScenarioProbe>(config, executor, tls, std::move(secrets));
      case config::ProbeType::kLlmStream:
        return std::make_shared<LlmStreamProbe>(config, std::move(executor), std::move(tls),
                                                std::move(secrets));
      case config::ProbeType::kWebSocket:
        return std::make_shared<WebSocketProbe>(config, std::move(executor), std::move(tls),
                                                std::move(secrets));
    }
  } catch (const std::exception& e) {
    throw std::runtime_error("probe '" + config.name + "': " + e.what());
  }
  throw std::runtime_error("probe '" + config.name + "': unsupported type");
}

}  // namespace sloprobe::probes
