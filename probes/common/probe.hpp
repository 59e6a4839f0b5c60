#pragma once

#include <boost/asio/awaitable.hpp>
#include <string_view>

#include "config/config.hpp"
#include "probes/common/http_client.hpp"
#include "probes/common/result.hpp"

namespace sloprobe::probes {

// One configured probe. Run() may be called again before an earlier run has
// finished (max_in_flight > 1); all runs happen on the executor the probe was
// made with. Keep the probe alive (shared_ptr) until its runs have finished.
// Each kind implements it in its own folder and registers in probes/kinds.cpp.
class Probe {
 public:
  virtual ~Probe() = default;
  virtual boost::asio::awaitable<ProbeResult> Run() = 0;
  virtual const config::ProbeConfig& Config() const = 0;
};

// Runs `probe` once. Probes classify every expected failure; an exception
// is a bug, and it must not take the caller down with it: it becomes a
// `protocol` failure whose detail starts with "internal error".
boost::asio::awaitable<ProbeResult> RunGuarded(Probe& probe);

// The step name of a probe's own request (http, llm_stream and websocket
// probes) in step-labelled metrics and results.
inline constexpr std::string_view kRequestStep = "request";

// Ends a one-request run (http and llm_stream probes): sets its duration,
// puts a failure on the kRequestStep step and scrubs `secrets` from its
// detail, and records that step's phases and status.
void FinishRequestRun(ProbeResult& result, const FetchResult& fetch, Clock::time_point started,
                      const config::Redactor& secrets);

}  // namespace sloprobe::probes
