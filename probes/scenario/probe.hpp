#pragma once

#include <optional>
#include <vector>

#include "probes/common/http_client.hpp"
#include "probes/common/probe.hpp"
#include "probes/common/variables.hpp"

namespace sloprobe::probes {

// `type: scenario`: ordered steps (HTTP requests, streamed LLM calls,
// WebSocket exchanges) sharing variables within one run, under one
// deadline; HTTP and stream steps share the run's cookies.
//
// - A failed step ends the main path; `always` steps still run (cleanup).
//   The run fails with the first failure; a cleanup failure fails an
//   otherwise good run and never replaces an earlier failure.
// - An `always` step that needs a variable no earlier step set in this run
//   is skipped: there is nothing to clean up.
// - The step with `cache` (a login) keeps its extracted variables and the
//   run's cookies while they are fresh; later runs skip it. When a later
//   step gets 401 with reused values, the run logs in again once and
//   repeats that step.
class ScenarioProbe final : public Probe {
 public:
  ScenarioProbe(config::ProbeConfig config, const boost::asio::any_io_executor& executor,
                const std::shared_ptr<TlsContexts>& tls,
                std::shared_ptr<const config::Redactor> secrets);

  boost::asio::awaitable<ProbeResult> Run() override;
  const config::ProbeConfig& Config() const override { return config_; }

 private:
  struct RunState {
    Clock::time_point deadline;
    Variables vars;
    CookieJar jar;
    std::optional<std::chrono::seconds> retry_after;
    // The config's secrets plus every value this run extracted or was sent
    // as a cookie: scrubbed from anything a detail quotes.
    config::Redactor scrub;
  };
  struct Cached {
    Variables vars;
    CookieJar cookies;
    Clock::time_point fresh_until;
  };

  boost::asio::awaitable<StepResult> RunStep(std::size_t index, RunState& state);
  void Remember(const config::ScenarioStep& step, const HttpResponse& response,
                const RunState& state);

  config::ProbeConfig config_;
  // One client per distinct TLS setting; steps that share one share its
  // idle keep-alive connections.
  std::vector<std::unique_ptr<HttpClient>> clients_;
  std::vector<std::size_t> client_of_;  // step index -> clients_ index
  std::optional<std::size_t> cached_step_;
  std::optional<Cached> cache_;
  std::shared_ptr<const config::Redactor> secrets_;
};

}  // namespace sloprobe::probes
