#include "probes/common/probe.hpp"

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

void FinishRequestRun(ProbeResult& result, const FetchResult& fetch, Clock::time_point started,
                      const config::Redactor& secrets) {
  result.duration = Clock::now() - started;
  result.cert_not_after = fetch.cert_not_after;
  if (!result.Ok()) {
    result.step = kRequestStep;
    if (!secrets.Empty()) result.detail = secrets.Redact(result.detail);
  }
  StepResult step;
  step.name = std::string(kRequestStep);
  step.duration = result.duration;
  step.phases = fetch.phases;
  step.status = fetch.response ? fetch.response->status : 0;
  step.reason = result.reason;
  result.steps.push_back(std::move(step));
}

}  // namespace sloprobe::probes
