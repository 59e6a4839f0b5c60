// Secrets and credentials never leave the process: not in logs, not in
// /metrics, not on the status page, not in OTLP exports, not in any failure
// detail or reload error, even when a server sends them back.
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>

#include "daemon/log.hpp"
#include "tests/integration/harness.hpp"

namespace sloprobe::test {
namespace {

using Families = std::vector<prometheus::MetricFamily>;

constexpr const char* kPassword = "pw-Secr3t-9f2c";
constexpr const char* kApiKey = "ak-9b1e-K3y";

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  for (auto pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos)) {
    text.replace(pos, from.size(), to);
    pos += to.size();
  }
  return text;
}

std::uint16_t ClosedPort() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();  // closed again when `a` goes
}

// One probe per failure path that has a credential near it. The echo route
// sends back what it got, so several of these put a credential into text
// that a check then quotes.
constexpr const char* kProbes = R"yaml(
global: {interval: 50ms, timeout: 300ms}
secrets:
  password: {env: SLOPROBE_IT_PASSWORD}
  api_key: {env: SLOPROBE_IT_API_KEY}
otlp:
  endpoint: "BASE/v1/metrics"
  interval: 100ms
  encoding: json
  headers: {Authorization: "Bearer ${secrets.api_key}"}
probes:
  - name: wrong-user
    type: scenario
    steps:
      - name: login
        request: {method: POST, url: "BASE/auth/login", json: {username: nobody, password: "${secrets.password}"}}
  - name: echoed-token
    type: scenario
    steps:
      - name: login
        request: {method: POST, url: "BASE/auth/login", json: {username: probe, password: "${secrets.password}"}}
        extract: {token: {json: /access_token}}
        cache: {ttl: 10m}
      - name: echo
        request: {url: "BASE/echo", headers: {Authorization: "Bearer ${token}"}}
        expect: {headers: {X-Echo-Authorization: {equals: nope}}}
  - name: echoed-password
    type: scenario
    steps:
      - name: echo
        request: {method: POST, url: "BASE/echo", json: {password: "${secrets.password}"}}
        expect: {json: [{pointer: /body, equals: nope}]}
  - name: echoed-cookie
    type: scenario
    steps:
      - name: login
        request: {method: POST, url: "BASE/auth/session", json: {username: probe, password: "${secrets.password}"}}
        expect: {status: [303]}
      - name: echo
        request: {url: "BASE/echo"}
        expect: {headers: {X-Echo-Cookie: {equals: nope}}}
  - name: echoed-basic
    type: http
    request: {url: "BASE/echo", basic_auth: {username: probe, password: "${secrets.password}"}}
    expect: {headers: {X-Echo-Authorization: {contains: nope}}}
  - name: echoed-api-key
    type: http
    request: {url: "BASE/echo?key=${secrets.api_key}", headers: {Authorization: "Bearer ${secrets.api_key}"}}
    expect: {json: [{pointer: /target, equals: nope}]}
  - name: refused
    type: http
    request: {url: "http://127.0.0.1:CLOSED/x?key=${secrets.api_key}", headers: {Authorization: "Bearer ${secrets.api_key}"}}
  - name: stalled
    type: scenario
    steps:
      - name: slow
        request: {url: "BASE/stall?key=${secrets.api_key}", headers: {Authorization: "Bearer ${secrets.api_key}"}}
  - name: limited
    type: scenario
    max_retry_after: 100ms
    steps:
      - name: login
        request: {method: POST, url: "LIMITED/auth/login", json: {username: probe, password: "${secrets.password}"}}
  - name: no-token-field
    type: scenario
    steps:
      - name: login
        request: {method: POST, url: "BASE/auth/login", json: {username: probe, password: "${secrets.password}"}}
        extract: {token: {json: /token}}
  - name: cleanup-fails
    type: scenario
    steps:
      - name: login
        request: {method: POST, url: "BASE/auth/login", json: {username: probe, password: "${secrets.password}"}}
        extract: {token: {json: /access_token}}
      - name: create
        request: {method: POST, url: "BASE/agents", headers: {Authorization: "Bearer ${token}"}, json: {name: x}}
        extract: {id: {json: /id}}
      - name: delete
        always: true
        request: {method: DELETE, url: "BASE/agents/${id}", headers: {Authorization: "Bearer ${token}"}}
  - name: echoed-llm-key
    type: llm_stream
    api: openai
    url: "BASE/echo"
    api_key: "${secrets.api_key}"
    model: m
    prompt: "${secrets.password}"
  - name: llm-stream-error
    type: llm_stream
    api: anthropic
    url: "BASE/v1/messages"
    api_key: "${secrets.api_key}"
    model: m
    prompt: Hi
  - name: token-stream
    type: scenario
    steps:
      - name: login
        request: {method: POST, url: "BASE/auth/login", json: {username: probe, password: "${secrets.password}"}}
        extract: {token: {json: /access_token}}
        cache: {ttl: 10m}
      - name: chat
        type: llm_stream
        api: openai
        url: "BASE/agent/v1/chat/completions"
        api_key: "${token}"
        model: m
        prompt: Hi
  - name: token-echoed-to-stream
    type: scenario
    steps:
      - name: login
        request: {method: POST, url: "BASE/auth/login", json: {username: probe, password: "${secrets.password}"}}
        extract: {token: {json: /access_token}}
      - name: chat
        type: llm_stream
        api: openai
        url: "BASE/echo?token=${token}"
        headers: {X-Token: "${token}"}
        api_key: "${token}"
        model: m
        prompt: Hi
  - name: token-socket
    type: scenario
    steps:
      - name: login
        request: {method: POST, url: "BASE/auth/login", json: {username: probe, password: "${secrets.password}"}}
        extract: {token: {json: /access_token}}
      - name: events
        type: websocket
        request: {url: "WSBASE/ws/agent?access_token=${token}", headers: {Authorization: "Bearer ${token}"}}
        websocket: {send: "${secrets.password}", reply: {contains: never-sent-back}}
)yaml";

// The reason each probe must fail with, so that the scan covers real paths.
const std::map<std::string, std::string> kReasons{
    {"wrong-user", "auth"},
    {"echoed-token", "expectation"},
    {"echoed-password", "expectation"},
    {"echoed-cookie", "expectation"},
    {"echoed-basic", "expectation"},
    {"echoed-api-key", "expectation"},
    {"refused", "connect"},
    {"stalled", "timeout"},
    {"limited", "rate_limited"},
    {"no-token-field", "expectation"},
    {"cleanup-fails", "http_status"},
    {"echoed-llm-key", "protocol"},
    {"llm-stream-error", "stream_error"},
    {"token-stream", "stream_error"},
    {"token-echoed-to-stream", "protocol"},
    {"token-socket", "timeout"},
};

class Secrets : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("SLOPROBE_IT_PASSWORD", kPassword, 1);
    setenv("SLOPROBE_IT_API_KEY", kApiKey, 1);
    testbed::Options options;
    options.users = {{"probe", kPassword}};
    options.api_keys = {{kApiKey, "probe"}};
    bed_ = std::make_unique<TestbedServer>(options);
    options.logins_per_minute = 1;
    limited_ = std::make_unique<TestbedServer>(options);
    bed_->SetFaults(R"yaml(
- {route: /stall, action: stall, stall_max: 2s}
- {route: DELETE /agents/*, error_ratio: 1, error_status: 503}
)yaml");
    testbed::StreamSpec stream;
    stream.error_after = 1;
    bed_->Bed().SetStream(stream);
    std::string yaml = Replace(kProbes, "LIMITED", limited_->Url(""));
    yaml = Replace(yaml, "WSBASE", "ws" + bed_->Url("").substr(4));
    yaml = Replace(yaml, "BASE", bed_->Url(""));
    config_ = ConfigFromYaml(Replace(yaml, "CLOSED", std::to_string(ClosedPort())));
  }

  // Everything that must never show up anywhere.
  std::vector<std::string> Forbidden() {
    std::vector<std::string> out{kPassword, kApiKey};
    out.emplace_back("cHJvYmU6cHctU2VjcjN0LTlmMmM=");  // basic_auth: base64("probe:" password)
    for (auto* bed : {bed_.get(), limited_.get()}) {
      for (auto& t : bed->Bed().IssuedTokens()) out.push_back(t);
    }
    std::erase(out, "");
    return out;
  }

  static void ExpectClean(const std::string& where, const std::string& text,
                          const std::vector<std::string>& forbidden) {
    for (const auto& secret : forbidden) {
      EXPECT_EQ(text.find(secret), std::string::npos) << secret << " leaked into " << where;
    }
  }

  std::unique_ptr<TestbedServer> bed_;
  std::unique_ptr<TestbedServer> limited_;
  config::Config config_;
};

TEST_F(Secrets, NeverInLogsOrMetrics) {
  std::ostringstream log;
  daemon::Logger::Get().Configure(daemon::LogLevel::kDebug, daemon::LogFormat::kJson, &log);
  std::string metrics;
  std::string reload_errors;
  std::string status_page;
  Families families;
  {
    DaemonRunner d(config_);
    auto runs = [](const Families& f, const std::string& probe) {
      const double v = MetricValue(f, "sloprobe_probe_runs_total", {{"probe", probe}});
      return std::isnan(v) ? 0.0 : v;
    };
    const bool done = d.WaitFor([&](const Families& f) {
      return std::all_of(kReasons.begin(), kReasons.end(),
                         [&](const auto& kv) { return runs(f, kv.first) >= 3; });
    });
    metrics = HttpRequest(d.Port(), "GET", "/metrics").body;
    // The status page quotes each probe's last failure detail.
    status_page = HttpRequest(d.Port(), "GET", "/").body;
    // A reload that fails next to a secret: its errors are scrubbed too.
    const auto reload =
        d.Reload(Replace(Replace(kProbes, "BASE", bed_->Url("")), "\"BASE/echo?key=", "\"bad:/") +
                 "  - name: broken\n    type: http\n    request: {url: \"${secrets.api_key}\"}\n");
    EXPECT_FALSE(reload.ok);
    for (const auto& e : reload.errors) reload_errors += e + "\n";
    d.Stop();
    families = d.Collect();
    daemon::Logger::Get().Configure(daemon::LogLevel::kInfo, daemon::LogFormat::kLogfmt,
                                    &std::cerr);
    ASSERT_TRUE(done);
  }
  // Every path was taken.
  for (const auto& [probe, reason] : kReasons) {
    EXPECT_GE(SumValues(families, "sloprobe_probe_failures_total",
                        {{"probe", probe}, {"reason", reason}}),
              1)
        << probe;
  }
  EXPECT_GE(SumValues(families, "sloprobe_scenario_cleanup_failures_total",
                      {{"probe", "cleanup-fails"}, {"reason", "http_status"}}),
            1);
  const auto forbidden = Forbidden();
  ASSERT_GE(forbidden.size(), 5u);  // password, key, basic, and issued tokens
  ExpectClean("the log", log.str(), forbidden);
  ExpectClean("/metrics", metrics, forbidden);
  ExpectClean("the status page", status_page, forbidden);
  EXPECT_NE(status_page.find("data-state=\"failing\""), std::string::npos) << "failures shown";
  ExpectClean("a reload error", reload_errors, forbidden);
  EXPECT_FALSE(reload_errors.empty());
  // The last OTLP export (JSON, so that strings are plain text), after
  // every failure path above: exported, and clean.
  EXPECT_GE(SumValues(families, "sloprobe_otlp_exports_total", {{"result", "success"}}), 1);
  const auto exported = HttpRequest(bed_->Port(), "GET", "/admin/otlp/last").body;
  EXPECT_NE(exported.find("sloprobe_probe_failures"), std::string::npos) << exported.substr(0, 200);
  ExpectClean("an OTLP export", exported, forbidden);
  EXPECT_NE(log.str().find("probe failing"), std::string::npos);
  EXPECT_NE(log.str().find("<redacted>"), std::string::npos);
}

TEST_F(Secrets, NeverInAnyFailureDetail) {
  const auto secrets = std::make_shared<const config::Redactor>(config_.redactor);
  std::map<std::string, std::vector<std::string>> details;
  for (const auto& probe : config_.probes) {
    // Two runs: the second login of the minute is the one rate-limited.
    const auto results = RunRepeatedly(probe, 2, {}, secrets);
    for (const auto& r : results) {
      details[probe.name].push_back(r.detail);
      for (const auto& s : r.steps) details[probe.name].push_back(s.detail);
    }
    EXPECT_EQ(std::string(probes::ReasonName(results.back().reason)), kReasons.at(probe.name))
        << probe.name << ": " << results.back().detail;
  }
  const auto forbidden = Forbidden();
  for (const auto& [probe, texts] : details) {
    for (const auto& text : texts) ExpectClean("a detail of " + probe, text, forbidden);
  }
  // Where the server sent a credential back, the check's quote was masked,
  // not dropped: the scrubbing is what kept these clean.
  for (const char* probe :
       {"echoed-token", "echoed-password", "echoed-cookie", "echoed-basic", "echoed-api-key"}) {
    const auto& texts = details[probe];
    EXPECT_TRUE(
        std::any_of(texts.begin(), texts.end(),
                    [](const std::string& t) { return t.find("<redacted>") != std::string::npos; }))
        << probe << ": " << texts.front();
  }
}

}  // namespace
}  // namespace sloprobe::test
