#include "probes/scenario/probe.hpp"

#include <algorithm>

#include "config/target.hpp"
#include "probes/common/expect.hpp"
#include "probes/llm_stream/probe.hpp"
#include "probes/llm_stream/wire.hpp"
#include "probes/websocket/probe.hpp"

namespace sloprobe::probes {

namespace asio = boost::asio;

ScenarioProbe::ScenarioProbe(config::ProbeConfig config, const asio::any_io_executor& executor,
                             const std::shared_ptr<TlsContexts>& tls,
                             std::shared_ptr<const config::Redactor> secrets)
    : config_(std::move(config)), secrets_(std::move(secrets)) {
  std::vector<const config::TlsConfig*> settings;
  for (std::size_t i = 0; i < config_.steps.size(); ++i) {
    const auto& step = config_.steps[i];
    auto it = std::find_if(settings.begin(), settings.end(),
                           [&](const config::TlsConfig* t) { return *t == step.request.tls; });
    if (it == settings.end()) {
      // Set TLS up now (and fail now on a bad CA file) if any step that
      // shares this setting is known to be https.
      const bool https = std::any_of(config_.steps.begin(), config_.steps.end(), [&](auto& s) {
        return s.request.tls == step.request.tls && UsesTls(s.request.url);
      });
      clients_.push_back(std::make_unique<HttpClient>(executor, step.request.tls, tls, https));
      settings.push_back(&step.request.tls);
      it = settings.end() - 1;
    }
    client_of_.push_back(static_cast<std::size_t>(it - settings.begin()));
    if (step.cache) cached_step_ = i;
  }
}

void ScenarioProbe::Remember(const config::ScenarioStep& step, const HttpResponse& response,
                             const RunState& state) {
  auto lifetime = std::chrono::duration_cast<Duration>(step.cache->ttl);
  if (auto seconds = JsonNumber(response.body, step.cache->expires_in); seconds && *seconds > 0) {
    lifetime = std::min(
        lifetime, std::chrono::duration_cast<Duration>(std::chrono::duration<double>(*seconds)));
  }
  // Renewed one timeout early: a run never starts with values that expire
  // before it can finish.
  lifetime -= std::chrono::duration_cast<Duration>(config_.timeout);
  if (lifetime <= Duration::zero()) {
    cache_.reset();
    return;
  }
  Cached cached;
  for (const auto& x : step.extract) {
    if (auto it = state.vars.find(x.variable); it != state.vars.end()) {
      cached.vars.emplace(it->first, it->second);
    }
  }
  cached.cookies = state.jar;
  cached.fresh_until = Clock::now() + lifetime;
  cache_ = std::move(cached);
}

asio::awaitable<StepResult> ScenarioProbe::RunStep(std::size_t index, RunState& state) {
  const auto& step = config_.steps[index];
  StepResult r;
  r.name = step.name;
  r.cleanup = step.always;
  const auto started = Clock::now();
  // Failures before anything is sent.
  auto fail = [&](Reason reason, std::string detail) {
    r.reason = reason;
    r.detail = std::move(detail);
    r.sent = false;
  };

  // The request, with this run's variables filled in.
  config::HttpRequest request = step.request;  // method and options
  std::string missing;
  auto unset = [&]() {
    if (step.always) {
      r.sent = false;
      r.detail = "skipped: it needs ${" + missing + "}, which no earlier step set in this run";
    } else {
      fail(Reason::kExpectation, "variable '" + missing + "' is not set");
    }
  };
  auto url_text = Render(step.url, state.vars, missing);
  if (!url_text) {
    unset();
    co_return r;
  }
  std::string error;
  auto url = config::ParseTargetUrl(*url_text, error, step.type == config::ProbeType::kWebSocket);
  if (!url) {
    fail(Reason::kExpectation, "the URL with its variables filled in " + error);
    co_return r;
  }
  request.url = std::move(*url);
  for (const auto& h : step.headers) {
    auto value = Render(h.value, state.vars, missing);
    if (!value) {
      unset();
      co_return r;
    }
    if (!config::ValidHeaderValue(*value)) {
      fail(Reason::kExpectation,
           "header '" + h.name + "' with its variables filled in holds a line break");
      co_return r;
    }
    request.headers.push_back({h.name, std::move(*value)});
  }
  auto body = Render(step.body, state.vars, missing);
  if (!body) {
    unset();
    co_return r;
  }
  request.body = std::move(*body);
  HttpClient& client = *clients_[client_of_[index]];

  if (step.type == config::ProbeType::kLlmStream) {
    request.body = BuildLlmBody(step.llm, step.llm.nonce ? NewUuid() : std::string());
    LlmCall call =
        co_await CallLlm(client, request, step.llm.api, state.deadline, state.scrub, &state.jar);
    r.phases = call.fetch.phases;
    r.status = call.fetch.response ? call.fetch.response->status : 0;
    r.reason = call.reason;
    r.detail = std::move(call.detail);
    r.stream = std::move(call.stream);
    for (auto& value : state.jar.Values()) state.scrub.Add(std::move(value));
    if (call.retry_after) state.retry_after = call.retry_after;
    r.duration = Clock::now() - started;
    co_return r;
  }
  if (step.type == config::ProbeType::kWebSocket) {
    co_await ExchangeWebSocket(client, request, step.websocket, started, state.deadline,
                               state.scrub, r);
    co_return r;
  }

  FetchResult fetch = co_await client.Fetch(request, state.deadline, &state.jar);
  r.phases = fetch.phases;
  r.status = fetch.response ? fetch.response->status : 0;
  r.reason = fetch.reason;
  r.detail = std::move(fetch.detail);
  for (auto& value : state.jar.Values()) state.scrub.Add(std::move(value));
  if (fetch.response && r.Ok()) {
    if (auto failure = CheckResponse(*fetch.response, step.expect, &state.scrub)) {
      r.reason = failure->reason;
      r.detail = std::move(failure->detail);
      if (r.reason == Reason::kRateLimited) {
        if (auto delay = RateLimitDelay(*fetch.response)) state.retry_after = delay;
      }
    } else {
      auto extract_error = ExtractAll(step.extract, *fetch.response, state.vars);
      // Scrubbed even when a later extraction failed: what was set is used.
      for (const auto& x : step.extract) {
        if (auto it = state.vars.find(x.variable); it != state.vars.end()) {
          state.scrub.Add(it->second);
        }
      }
      if (extract_error) {
        r.reason = Reason::kExpectation;
        r.detail = std::move(*extract_error);
      } else if (step.cache) {
        Remember(step, *fetch.response, state);
      }
    }
  }
  r.duration = Clock::now() - started;
  co_return r;
}

asio::awaitable<ProbeResult> ScenarioProbe::Run() {
  const auto started = Clock::now();
  RunState state;
  state.deadline = started + std::chrono::duration_cast<Duration>(config_.timeout);
  state.vars.emplace(config::kBuiltinRunId, NewUuid());
  state.scrub = *secrets_;
  ProbeResult result;
  result.steps.reserve(config_.steps.size() + 2);
  bool failed = false;
  bool reused = false;    // the cached step's values came from an earlier run
  bool relogged = false;  // the one re-login of this run has happened
  auto record = [&](StepResult r) {
    if (!r.Ok() && !r.retried) {
      if (result.Ok()) {  // the first failure is the run's
        result.reason = r.reason;
        result.step = r.name;
        result.detail = "step '" + r.name + "': " + r.detail;
      }
      failed = true;
    }
    result.steps.push_back(std::move(r));
  };

  for (std::size_t i = 0; i < config_.steps.size(); ++i) {
    const auto& step = config_.steps[i];
    if (failed && !step.always) continue;
    if (cached_step_ == i && cache_ && Clock::now() < cache_->fresh_until) {
      for (const auto& [name, value] : cache_->vars) {
        state.vars[name] = value;
        state.scrub.Add(value);
      }
      state.jar.Merge(cache_->cookies);
      for (auto& value : state.jar.Values()) state.scrub.Add(std::move(value));
      StepResult r;
      r.name = step.name;
      r.sent = false;
      r.login = StepResult::Login::kReused;
      record(std::move(r));
      reused = true;
      continue;
    }
    StepResult r = co_await RunStep(i, state);
    if (cached_step_ == i) r.login = StepResult::Login::kNew;
    if (r.status == 401 && r.reason == Reason::kAuth && reused && !relogged && cached_step_ &&
        *cached_step_ < i) {
      // The reused login was revoked or expired early: log in again, once,
      // and repeat this step with the new values.
      relogged = true;
      cache_.reset();
      r.retried = true;
      record(std::move(r));
      StepResult login = co_await RunStep(*cached_step_, state);
      login.login = StepResult::Login::kRetry;
      const bool login_ok = login.Ok();
      record(std::move(login));
      if (!login_ok) continue;
      r = co_await RunStep(i, state);
    }
    record(std::move(r));
  }

  result.retry_after = state.retry_after;
  // A last pass over every detail, for text quoted before a value was known.
  if (!state.scrub.Empty()) {
    result.detail = state.scrub.Redact(result.detail);
    for (auto& s : result.steps) s.detail = state.scrub.Redact(s.detail);
  }
  result.duration = Clock::now() - started;
  co_return result;
}

}  // namespace sloprobe::probes
