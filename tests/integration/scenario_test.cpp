// Scenarios against the testbed: the full agents flow, token reuse and
// re-login, rate limits, cleanup, cookies.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <cmath>

#include "tests/integration/harness.hpp"

namespace sloprobe::test {
namespace {

using namespace std::chrono_literals;
using probes::Reason;
using probes::StepResult;
using Families = std::vector<prometheus::MetricFamily>;

boost::json::value AdminState(TestbedServer& bed) {
  return boost::json::parse(HttpRequest(bed.Port(), "GET", "/admin/state").body);
}

int Logins(TestbedServer& bed) {
  int n = 0;
  for (const auto& r : bed.Bed().Records()) n += r.path == "/auth/login" ? 1 : 0;
  return n;
}

// Login (cached) -> list -> create -> get -> RAG query -> delete (always).
constexpr const char* kAgentsFlow = R"yaml(name: agents
type: scenario
timeout: 5s
steps:
  - name: login
    request:
      method: POST
      url: "BASE/auth/login"
      json: {username: probe, password: probe-password}
    expect: {status: [200]}
    extract: {token: {json: /access_token}}
    cache: {ttl: 10m}
  - name: list_agents
    request: {url: "BASE/agents", headers: {Authorization: "Bearer ${token}"}}
    expect: {status: [200], json: [{pointer: /agents}]}
  - name: create_agent
    request:
      method: POST
      url: "BASE/agents"
      headers: {Authorization: "Bearer ${token}"}
      json: {name: "probe-${run_id}"}
    expect: {status: [201]}
    extract: {agent_id: {json: /id}, agent_name: {json: /name}}
  - name: get_agent
    request: {url: "BASE/agents/${agent_id}", headers: {Authorization: "Bearer ${token}"}}
    expect: {status: [200], body_contains: probe-}
  - name: rag_query
    request:
      method: POST
      url: "BASE/rag/query"
      headers: {Authorization: "Bearer ${token}"}
      json: {query: "What is the refund policy for ${agent_name}?", top_k: 3}
    expect: {status: [200], json: [{pointer: /answer}]}
  - name: delete_agent
    always: true
    request:
      method: DELETE
      url: "BASE/agents/${agent_id}"
      headers: {Authorization: "Bearer ${token}"}
    expect: {status: [204]}
)yaml";

TEST(Scenario, TheFullAgentsFlowRunsAndCleansUp) {
  TestbedServer bed;
  const auto results = RunRepeatedly(ProbeFromYaml(At(bed, kAgentsFlow)), 5);
  for (const auto& r : results) {
    ASSERT_TRUE(r.Ok()) << Why(r);
    EXPECT_TRUE(r.step.empty());
  }
  // Every step of the first run was sent, in order, with its phases.
  const std::vector<std::string> names{"login",     "list_agents", "create_agent",
                                       "get_agent", "rag_query",   "delete_agent"};
  ASSERT_EQ(results[0].steps.size(), names.size()) << Steps(results[0]);
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto& s = results[0].steps[i];
    EXPECT_EQ(s.name, names[i]);
    EXPECT_TRUE(s.sent);
    EXPECT_TRUE(s.phases.ttfb.has_value()) << s.name;
    EXPECT_GT(s.duration, probes::Duration::zero());
  }
  EXPECT_EQ(results[0].steps[0].login, StepResult::Login::kNew);
  EXPECT_EQ(results[0].steps[5].status, 204);
  EXPECT_TRUE(results[0].steps[5].cleanup);
  // The whole run covers its steps.
  probes::Duration sum{};
  for (const auto& s : results[0].steps) sum += s.duration;
  EXPECT_GE(results[0].duration, sum);
  // Five agents made, five deleted; one login for five runs.
  const auto state = AdminState(bed);
  EXPECT_EQ(state.at("agents").as_int64(), 0);
  EXPECT_EQ(state.at("logins").as_int64(), 1);
}

TEST(Scenario, RegisterThenLoginSeesOnlyItsOwnAgents) {
  TestbedServer bed;
  // Someone else's agent exists (its cleanup failed); a fresh user must not see it.
  bed.SetFaults("- {route: DELETE /agents/*, error_ratio: 1, error_status: 503}");
  const auto other = RunRepeatedly(ProbeFromYaml(At(bed, kAgentsFlow)), 1);
  ASSERT_EQ(other[0].step, "delete_agent") << Why(other[0]);
  ASSERT_EQ(AdminState(bed).at("agents").as_int64(), 1);
  const auto probe = ProbeFromYaml(At(bed, R"yaml(name: newuser
type: scenario
steps:
  - name: register
    request:
      method: POST
      url: "BASE/auth/register"
      json: {username: "user-${run_id}", password: "pw-${run_id}"}
    expect: {status: [201], json: [{pointer: /username}]}
  - name: login
    request:
      method: POST
      url: "BASE/auth/login"
      json: {username: "user-${run_id}", password: "pw-${run_id}"}
    extract: {token: {json: /access_token}}
  - name: list_agents
    request: {url: "BASE/agents", headers: {Authorization: "Bearer ${token}"}}
    expect: {json: [{pointer: /agents, equals: []}]}
)yaml"));
  for (const auto& r : RunRepeatedly(probe, 3)) EXPECT_TRUE(r.Ok()) << Why(r);
}

TEST(Scenario, ACachedLoginIsReusedAcrossRuns) {
  TestbedServer bed;
  const auto results = RunRepeatedly(ProbeFromYaml(At(bed, kAgentsFlow)), 20);
  int reused = 0;
  int fresh = 0;
  for (const auto& r : results) {
    ASSERT_TRUE(r.Ok()) << Why(r);
    ASSERT_EQ(r.steps[0].name, "login");
    reused += r.steps[0].login == StepResult::Login::kReused ? 1 : 0;
    fresh += r.steps[0].login == StepResult::Login::kNew ? 1 : 0;
    if (r.steps[0].login == StepResult::Login::kReused) {
      EXPECT_FALSE(r.steps[0].sent);
    }
  }
  EXPECT_EQ(fresh, 1);
  EXPECT_EQ(reused, 19);
  EXPECT_EQ(Logins(bed), 1);
}

TEST(Scenario, AnExpiredTokenMeansExactlyOneReLogin) {
  TestbedServer bed;
  const auto results = RunRepeatedly(ProbeFromYaml(At(bed, kAgentsFlow)), 4, [&](int run) {
    // Every token the platform issued stops working before run 2.
    if (run == 2) {
      ASSERT_EQ(HttpRequest(bed.Port(), "POST", "/admin/tokens/expire").status, 204);
    }
  });
  for (const auto& r : results) ASSERT_TRUE(r.Ok()) << Why(r);
  // Run 2: reused login, 401 on the first authenticated step, one new
  // login, the step again; the rest of the run uses the new token.
  const auto& r = results[2];
  ASSERT_GE(r.steps.size(), 4u) << Steps(r);
  EXPECT_EQ(r.steps[0].login, StepResult::Login::kReused);
  EXPECT_EQ(r.steps[1].name, "list_agents");
  EXPECT_EQ(r.steps[1].status, 401);
  EXPECT_TRUE(r.steps[1].retried);
  EXPECT_EQ(r.steps[2].name, "login");
  EXPECT_EQ(r.steps[2].login, StepResult::Login::kRetry);
  EXPECT_EQ(r.steps[3].name, "list_agents");
  EXPECT_EQ(r.steps[3].status, 200);
  // The new token is cached for run 3.
  EXPECT_EQ(results[3].steps[0].login, StepResult::Login::kReused);
  EXPECT_EQ(Logins(bed), 2);
  EXPECT_EQ(AdminState(bed).at("agents").as_int64(), 0);
}

TEST(Scenario, AFailedReLoginFailsTheRunAtTheLoginOnce) {
  TestbedServer bed;
  const auto results = RunRepeatedly(ProbeFromYaml(At(bed, kAgentsFlow)), 2, [&](int run) {
    if (run == 1) {
      ASSERT_EQ(HttpRequest(bed.Port(), "POST", "/admin/tokens/expire").status, 204);
      bed.SetFaults("- {route: /auth/login, error_ratio: 1, error_status: 500}");
    }
  });
  ASSERT_TRUE(results[0].Ok()) << Why(results[0]);
  const auto& r = results[1];
  EXPECT_EQ(r.reason, Reason::kHttpStatus) << Why(r);
  EXPECT_EQ(r.step, "login");
  EXPECT_NE(r.detail.find("step 'login': status 500"), std::string::npos) << r.detail;
  EXPECT_EQ(Logins(bed), 2);  // the first one, and one attempt: no loop
}

TEST(Scenario, TooManyLoginsIsRateLimitedWithTheServersDelay) {
  testbed::Options options;
  options.logins_per_minute = 2;
  TestbedServer bed(options);
  auto probe = ProbeFromYaml(At(bed, kAgentsFlow));
  probe.steps[0].cache.reset();  // log in every run
  const auto results = RunRepeatedly(probe, 3);
  ASSERT_TRUE(results[0].Ok()) << Why(results[0]);
  ASSERT_TRUE(results[1].Ok()) << Why(results[1]);
  const auto& r = results[2];
  EXPECT_EQ(r.reason, Reason::kRateLimited) << Why(r);
  EXPECT_EQ(r.step, "login");
  ASSERT_TRUE(r.retry_after);
  EXPECT_GT(*r.retry_after, 0s);
  EXPECT_LE(*r.retry_after, 60s);
  // Nothing after the login was sent; nothing was left behind.
  EXPECT_EQ(r.steps.size(), 2u) << Steps(r);  // login, and the skipped cleanup
  EXPECT_FALSE(r.steps.back().sent);
  EXPECT_EQ(AdminState(bed).at("agents").as_int64(), 0);
}

TEST(Scenario, CleanupRunsAfterAFailingMiddleStepAndNeverHidesIt) {
  TestbedServer bed;
  const auto probe = ProbeFromYaml(At(bed, kAgentsFlow));
  // The middle step fails: the agent is still deleted.
  bed.SetFaults("- {route: GET /agents/*, error_ratio: 1, error_status: 500}");
  auto r = RunRepeatedly(probe, 1).at(0);
  EXPECT_EQ(r.reason, Reason::kHttpStatus) << Why(r);
  EXPECT_EQ(r.step, "get_agent");
  ASSERT_EQ(r.steps.back().name, "delete_agent") << Steps(r);
  EXPECT_TRUE(r.steps.back().sent);
  EXPECT_TRUE(r.steps.back().Ok());
  EXPECT_EQ(r.steps.size(), 5u) << Steps(r);  // rag_query was not run
  EXPECT_EQ(AdminState(bed).at("agents").as_int64(), 0);

  // Both fail: the run keeps the main failure; the cleanup's is on its step.
  bed.SetFaults(R"yaml(
- {route: GET /agents/*, error_ratio: 1, error_status: 500}
- {route: DELETE /agents/*, error_ratio: 1, error_status: 503}
)yaml");
  r = RunRepeatedly(probe, 1).at(0);
  EXPECT_EQ(r.step, "get_agent") << Why(r);
  EXPECT_EQ(r.reason, Reason::kHttpStatus);
  EXPECT_EQ(r.steps.back().reason, Reason::kHttpStatus);
  EXPECT_EQ(r.steps.back().status, 503);

  // Only the cleanup fails: the run fails there.
  bed.SetFaults("- {route: DELETE /agents/*, error_ratio: 1, error_status: 503}");
  r = RunRepeatedly(probe, 1).at(0);
  EXPECT_EQ(r.step, "delete_agent") << Why(r);
  EXPECT_EQ(r.reason, Reason::kHttpStatus);

  // Nothing was created: there is nothing to delete, and nothing is sent.
  bed.SetFaults("- {route: POST /agents, error_ratio: 1, error_status: 500}");
  bed.Bed().ClearRecords();
  r = RunRepeatedly(probe, 1).at(0);
  EXPECT_EQ(r.step, "create_agent") << Why(r);
  const auto& cleanup = r.steps.back();
  EXPECT_EQ(cleanup.name, "delete_agent");
  EXPECT_FALSE(cleanup.sent);
  EXPECT_TRUE(cleanup.Ok());
  EXPECT_NE(cleanup.detail.find("needs ${agent_id}"), std::string::npos) << cleanup.detail;
  for (const auto& rec : bed.Bed().Records()) EXPECT_NE(rec.method, "DELETE") << rec.path;
}

TEST(Scenario, SessionCookiesFollowRedirectsWithinARunAndAreDroppedBetweenRuns) {
  TestbedServer bed;
  const auto probe = ProbeFromYaml(At(bed, R"yaml(name: session
type: scenario
steps:
  - name: anonymous
    request: {url: "BASE/auth/me"}
    expect: {status: [401]}
  - name: login
    request:
      method: POST
      url: "BASE/auth/session"
      json: {username: probe, password: probe-password}
      follow_redirects: 1
    expect: {status: [200], json: [{pointer: /username, equals: probe}]}
  - name: list_agents
    request: {url: "BASE/agents"}
    expect: {status: [200]}
)yaml"));
  // Run 2 starts anonymous again: the session cookie did not carry over.
  for (const auto& r : RunRepeatedly(probe, 2)) EXPECT_TRUE(r.Ok()) << Why(r);
}

TEST(Scenario, ACachedLoginKeepsItsSessionCookie) {
  TestbedServer bed;
  const auto probe = ProbeFromYaml(At(bed, R"yaml(name: session
type: scenario
steps:
  - name: login
    request:
      method: POST
      url: "BASE/auth/session"
      json: {username: probe, password: probe-password}
    expect: {status: [303]}
    cache: {ttl: 10m}
  - name: me
    request: {url: "BASE/auth/me"}
    expect: {status: [200]}
)yaml"));
  const auto results = RunRepeatedly(probe, 5);
  for (const auto& r : results) EXPECT_TRUE(r.Ok()) << Why(r);
  EXPECT_EQ(results[4].steps[0].login, StepResult::Login::kReused);
  EXPECT_EQ(AdminState(bed).at("logins").as_int64(), 1);
}

TEST(Scenario, ValuesFromTheServerAreNeverSentUnsafely) {
  TestbedServer bed;
  // The echo route hands back what we sent; a value with a line break from
  // a server must not become a header (request smuggling).
  const auto probe = ProbeFromYaml(At(bed, R"yaml(name: smuggle
type: scenario
steps:
  - name: first
    request:
      method: POST
      url: "BASE/echo"
      body: "line1\nX-Injected: yes"
    extract: {payload: {json: /body}}
  - name: second
    request: {url: "BASE/echo", headers: {X-Value: "${payload}"}}
  - name: third
    request: {url: "BASE/echo?q=${payload}"}
    expect: {json: [{pointer: /target, equals: "/echo?q=line1%0AX-Injected%3A%20yes"}]}
    always: true
  - name: fourth
    request: {url: "${payload}/echo"}
    always: true
)yaml"));
  const auto r = RunRepeatedly(probe, 1).at(0);
  EXPECT_EQ(r.reason, Reason::kExpectation) << Why(r);
  EXPECT_EQ(r.step, "second");
  EXPECT_NE(r.detail.find("header 'X-Value' with its variables filled in holds a line break"),
            std::string::npos)
      << r.detail;
  EXPECT_FALSE(r.steps[1].sent);
  EXPECT_EQ(r.steps[1].status, 0);
  // In a URL the same value is percent-encoded and arrives intact.
  EXPECT_TRUE(r.steps[2].Ok()) << r.steps[2].detail;
  // As a whole base URL it does not parse: the step fails, nothing is sent.
  EXPECT_FALSE(r.steps[3].sent);
  EXPECT_EQ(r.steps[3].reason, Reason::kExpectation);
  EXPECT_NE(r.steps[3].detail.find("the URL with its variables filled in is not a valid URL"),
            std::string::npos)
      << r.steps[3].detail;
  // The second and fourth requests never reached the server.
  EXPECT_EQ(bed.Bed().Records().size(), 2u);
}

// A daemon with three rate-limited probes: one honours the server's
// minute-long Retry-After, one is bounded to 200 ms, one ignores it.
TEST(Scenario, RetryAfterPostponesRunsUpToTheConfiguredMaximum) {
  testbed::Options limited;
  limited.logins_per_minute = 1;
  TestbedServer held_bed(limited);
  TestbedServer bounded_bed(limited);
  TestbedServer ignored_bed(limited);
  auto probe = [](const TestbedServer& bed, const std::string& name, const std::string& max) {
    return At(bed, "  - name: " + name + R"yaml(
    type: scenario
    max_retry_after: )yaml" +
                       max + R"yaml(
    steps:
      - name: login
        request:
          method: POST
          url: "BASE/auth/login"
          json: {username: probe, password: probe-password}
)yaml");
  };
  DaemonRunner d(ConfigFromYaml(
      "global: {interval: 50ms, timeout: 1s}\nprobes:\n" + probe(held_bed, "held", "1m") +
      probe(bounded_bed, "bounded", "200ms") + probe(ignored_bed, "ignored", "0s")));
  auto value = [](const Families& f, const std::string& metric, const std::string& p) {
    const double v = MetricValue(f, metric, {{"probe", p}});
    return std::isnan(v) ? 0.0 : v;
  };
  ASSERT_TRUE(d.WaitFor([&](const Families& f) {
    return value(f, "sloprobe_probe_postponed_total", "held") >= 10 &&
           value(f, "sloprobe_probe_runs_total", "bounded") >= 5 &&
           value(f, "sloprobe_probe_postponed_total", "bounded") >= 3 &&
           value(f, "sloprobe_probe_runs_total", "ignored") >= 5;
  }));
  d.Stop();
  const auto f = d.Collect();
  // Held: one good run, one 429, then nothing for the rest of the minute.
  EXPECT_EQ(value(f, "sloprobe_probe_runs_total", "held"), 2);
  EXPECT_EQ(MetricValue(f, "sloprobe_probe_failures_total",
                        {{"probe", "held"}, {"step", "login"}, {"reason", "rate_limited"}}),
            1);
  // Bounded: kept probing, every 200 ms at most, and kept being told to wait.
  EXPECT_GE(MetricValue(f, "sloprobe_probe_failures_total",
                        {{"probe", "bounded"}, {"step", "login"}, {"reason", "rate_limited"}}),
            4);
  // Ignored: ran on schedule.
  EXPECT_EQ(value(f, "sloprobe_probe_postponed_total", "ignored"), 0);
}

}  // namespace
}  // namespace sloprobe::test
