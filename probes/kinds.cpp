#include "probes/kinds.hpp"

#include <array>
#include <stdexcept>

#include "probes/http/probe.hpp"
#include "probes/llm_stream/probe.hpp"
#include "probes/scenario/probe.hpp"
#include "probes/websocket/probe.hpp"

namespace sloprobe::probes {
namespace {

template <typename P>
std::shared_ptr<Probe> Make(const config::ProbeConfig& config,
                            boost::asio::any_io_executor executor, std::shared_ptr<TlsContexts> tls,
                            std::shared_ptr<const config::Redactor> secrets) {
  return std::make_shared<P>(config, std::move(executor), std::move(tls), std::move(secrets));
}

constexpr std::array kKinds{
    ProbeKind{config::ProbeType::kHttp, &Make<HttpProbe>},
    ProbeKind{config::ProbeType::kScenario, &Make<ScenarioProbe>},
    ProbeKind{config::ProbeType::kLlmStream, &Make<LlmStreamProbe>},
    ProbeKind{config::ProbeType::kWebSocket, &Make<WebSocketProbe>},
};

}  // namespace

std::span<const ProbeKind> Kinds() { return kKinds; }

std::shared_ptr<Probe> MakeProbe(const config::ProbeConfig& config,
                                 boost::asio::any_io_executor executor,
                                 std::shared_ptr<TlsContexts> tls,
                                 std::shared_ptr<const config::Redactor> secrets) {
  if (!secrets) secrets = std::make_shared<const config::Redactor>();
  for (const auto& kind : kKinds) {
    if (kind.type != config.type) continue;
    try {
      return kind.make(config, std::move(executor), std::move(tls), std::move(secrets));
    } catch (const std::exception& e) {
      throw std::runtime_error("probe '" + config.name + "': " + e.what());
    }
  }
  throw std::runtime_error("probe '" + config.name + "': unsupported type");
}

}  // namespace sloprobe::probes
