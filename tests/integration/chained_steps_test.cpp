// Scenarios whose steps stream and open WebSockets, as a platform's users
// do: log in, then use the login's short-lived token as the bearer of a
// streamed chat completion or of a WebSocket. The testbed's /agent/...
// and /ws/agent accept only tokens its /auth/login issued.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <thread>

#include "tests/integration/harness.hpp"

namespace sloprobe::test {
namespace {

using namespace std::chrono_literals;
using probes::Duration;
using probes::Reason;
using probes::StepResult;
using Families = std::vector<prometheus::MetricFamily>;

// What the step measured against what the testbed wrote: two trips over
// loopback and a wake-up, tens of microseconds on an idle machine.
#ifdef SLOPROBE_SANITIZED
constexpr Duration kSlack = 20ms;
#else
constexpr Duration kSlack = 1ms;
#endif

int Count(TestbedServer& bed, const std::string& path) {
  int n = 0;
  for (const auto& r : bed.Bed().Records()) n += r.path == path ? 1 : 0;
  return n;
}

constexpr const char* kLogin = R"yaml(  - name: login
    request:
      method: POST
      url: "BASE/auth/login"
      json: {username: probe, password: probe-password}
    extract: {token: {json: /access_token}}
    cache: {ttl: 10m}
)yaml";

// Login -> a streamed chat with the token as the bearer.
std::string ChatFlow(const TestbedServer& bed, const std::string& extra_steps = "") {
  return At(bed, std::string("name: agent-chat\ntype: scenario\ntimeout: 3s\nsteps:\n") + kLogin +
                     R"yaml(  - name: chat
    type: llm_stream
    api: openai
    url: "BASE/agent/v1/chat/completions"
    api_key: "${token}"
    model: agent-model
    prompt: Reply with one short sentence.
)yaml" + extra_steps);
}

// Login -> a WebSocket with the token in a header.
std::string SocketFlow(const TestbedServer& bed) {
  return At(bed, std::string("name: agent-socket\ntype: scenario\ntimeout: 3s\nsteps:\n") + kLogin +
                     R"yaml(  - name: events
    type: websocket
    request:
      url: "WSBASE/ws/agent?push=1"
      headers: {Authorization: "Bearer ${token}"}
    websocket:
      send: '{"type":"ping"}'
      messages: 3
      reply: {json: [{pointer: /type, equals: ping}]}
)yaml");
}

TEST(ChainedSteps, AStreamStepUsesTheLoginsTokenAndIsTimedToTheServersWrites) {
  TestbedServer bed;
  testbed::StreamSpec spec;
  spec.ttfb = 10ms;
  spec.first_token = 25ms;
  spec.gap = 6ms;
  spec.gap_random = 4ms;
  spec.chunks = 5;
  bed.Bed().SetStream(spec);
  const auto r = RunOnce(ProbeFromYaml(ChatFlow(bed)));
  ASSERT_TRUE(r.Ok()) << Why(r);
  ASSERT_EQ(r.steps.size(), 2u) << Steps(r);
  const auto& chat = r.steps[1];
  EXPECT_EQ(chat.name, "chat");
  EXPECT_EQ(chat.status, 200);
  EXPECT_FALSE(r.stream) << "a step's stream is on the step";
  ASSERT_TRUE(chat.stream);
  const auto& s = *chat.stream;
  const auto rec = LastRecord(bed, "/agent/v1/chat/completions");
  ASSERT_EQ(rec.token_written.size(), 5u);
  ASSERT_TRUE(s.ttft);
  EXPECT_GE(*s.ttft, rec.token_written[0]);
  EXPECT_LE(*s.ttft, rec.token_written[0] + kSlack);
  ASSERT_EQ(s.gaps.size(), 4u);
  for (std::size_t i = 0; i < s.gaps.size(); ++i) {
    const auto truth = rec.token_written[i + 1] - rec.token_written[i];
    EXPECT_LE(std::chrono::abs(s.gaps[i] - truth), kSlack) << "gap " << i;
  }
  ASSERT_TRUE(s.e2e);
  EXPECT_LE(*s.e2e, rec.token_written.back() + kSlack);
  EXPECT_EQ(s.output_tokens, 5u);
  ASSERT_TRUE(chat.phases.ttfb);

  // Without the login's token the platform refuses the stream.
  auto probe = ProbeFromYaml(ChatFlow(bed));
  probe.steps[1].headers.clear();
  const auto refused = RunOnce(probe);
  EXPECT_EQ(refused.reason, Reason::kAuth) << Why(refused);
  EXPECT_EQ(refused.step, "chat");
  EXPECT_EQ(refused.steps.back().status, 401);
}

TEST(ChainedSteps, AWebSocketStepUsesTheLoginsTokenInAHeaderOrTheUrl) {
  TestbedServer bed;
  const auto r = RunOnce(ProbeFromYaml(SocketFlow(bed)));
  ASSERT_TRUE(r.Ok()) << Why(r);
  ASSERT_EQ(r.steps.size(), 2u) << Steps(r);
  EXPECT_EQ(r.steps[1].status, 101);
  EXPECT_EQ(r.steps[1].round_trips.size(), 3u);
  EXPECT_TRUE(r.steps[1].phases.upgrade);
  EXPECT_TRUE(r.round_trips.empty()) << "a step's round trips are on the step";

  // The token in the query instead, as a browser's client sends it.
  std::string yaml = SocketFlow(bed);
  const auto header = yaml.find("      headers:");
  yaml.erase(header, yaml.find('\n', header) - header + 1);
  const auto url = yaml.find("?push=1");
  yaml.insert(url + 7, "&access_token=${token}");
  const auto in_url = RunOnce(ProbeFromYaml(yaml));
  ASSERT_TRUE(in_url.Ok()) << Why(in_url);

  // Without a token the upgrade is refused.
  auto probe = ProbeFromYaml(SocketFlow(bed));
  probe.steps[1].headers.clear();
  const auto refused = RunOnce(probe);
  EXPECT_EQ(refused.reason, Reason::kAuth) << Why(refused);
  EXPECT_EQ(refused.steps.back().status, 401);
}

// The token expires between runs: the stream or WebSocket step gets 401,
// the run logs in once more and repeats the step.
TEST(ChainedSteps, ATokenThatExpiresMeansExactlyOneReLoginForAStreamOrWebSocketStep) {
  TestbedServer bed;
  for (const auto& yaml : {ChatFlow(bed), SocketFlow(bed)}) {
    const int logins_before = Count(bed, "/auth/login");
    const auto results = RunRepeatedly(ProbeFromYaml(yaml), 4, [&](int run) {
      if (run == 2) {
        ASSERT_EQ(HttpRequest(bed.Port(), "POST", "/admin/tokens/expire").status, 204);
      }
    });
    for (const auto& r : results) ASSERT_TRUE(r.Ok()) << Why(r);
    const auto& r = results[2];
    ASSERT_EQ(r.steps.size(), 4u) << Steps(r);
    EXPECT_EQ(r.steps[0].login, StepResult::Login::kReused);
    EXPECT_EQ(r.steps[1].status, 401);
    EXPECT_EQ(r.steps[1].reason, Reason::kAuth);
    EXPECT_TRUE(r.steps[1].retried);
    EXPECT_EQ(r.steps[2].login, StepResult::Login::kRetry);
    EXPECT_TRUE(r.steps[3].Ok());
    EXPECT_EQ(results[3].steps[0].login, StepResult::Login::kReused);
    EXPECT_EQ(Count(bed, "/auth/login") - logins_before, 2) << yaml;
  }
}

TEST(ChainedSteps, AStreamErrorStillRunsTheCleanupAndIsReportedWithItsStep) {
  TestbedServer bed;
  testbed::StreamSpec spec;
  spec.chunks = 4;
  spec.error_after = 2;
  bed.Bed().SetStream(spec);
  const std::string yaml =
      At(bed, std::string("name: agent-chat\ntype: scenario\ntimeout: 3s\nsteps:\n") + kLogin +
                  R"yaml(  - name: create_agent
    request:
      method: POST
      url: "BASE/agents"
      headers: {Authorization: "Bearer ${token}"}
      json: {name: "probe-${run_id}"}
    expect: {status: [201]}
    extract: {agent_id: {json: /id}}
  - name: chat
    type: llm_stream
    api: openai
    url: "BASE/agent/v1/chat/completions"
    api_key: "${token}"
    model: agent-model
    prompt: Hello
  - name: delete_agent
    always: true
    request:
      method: DELETE
      url: "BASE/agents/${agent_id}"
      headers: {Authorization: "Bearer ${token}"}
    expect: {status: [204]}
)yaml");
  const auto r = RunOnce(ProbeFromYaml(yaml));
  EXPECT_EQ(r.reason, Reason::kStreamError) << Why(r);
  EXPECT_EQ(r.step, "chat");
  EXPECT_EQ(r.detail.rfind("step 'chat': error in the stream", 0), 0u) << r.detail;
  ASSERT_EQ(r.steps.size(), 4u) << Steps(r);
  ASSERT_TRUE(r.steps[2].stream);
  EXPECT_EQ(r.steps[2].stream->token_items, 2u);  // what came before the error was timed
  EXPECT_EQ(r.steps[3].name, "delete_agent");
  EXPECT_TRUE(r.steps[3].sent);
  EXPECT_TRUE(r.steps[3].Ok());
  EXPECT_EQ(boost::json::parse(HttpRequest(bed.Port(), "GET", "/admin/state").body)
                .at("agents")
                .as_int64(),
            0);
}

TEST(ChainedSteps, StepsExportTheStreamAndRoundTripSeriesWithTheirStepAndObjectives) {
  TestbedServer bed;
  testbed::StreamSpec spec;
  spec.first_token = 5ms;
  spec.gap = 2ms;
  spec.chunks = 3;
  bed.Bed().SetStream(spec);
  auto indent = [](const std::string& probe) {
    std::string out = "  - ";
    for (const char c : probe) {
      out += c;
      if (c == '\n') out += "    ";
    }
    return out + "\n";
  };
  DaemonRunner d(ConfigFromYaml(
      "global: {interval: 100ms, timeout: 2s}\nprobes:\n" +
      indent(ChatFlow(bed) +
             "objectives: {ttft: {quantile: 0.95, threshold: 444ms}, inter_chunk: {threshold: "
             "55ms}, error_ratio: 0.05}") +
      indent(SocketFlow(bed) + "objectives: {round_trip: {threshold: 333ms}}")));
  const LabelSet chat{
      {"probe", "agent-chat"}, {"step", "chat"}, {"api", "openai"}, {"model", "agent-model"}};
  const LabelSet events{{"probe", "agent-socket"}, {"step", "events"}};
  ASSERT_TRUE(d.WaitFor([&](const Families& f) {
    return MetricValue(f, "sloprobe_llm_time_to_first_token_seconds_count", chat) >= 3 &&
           MetricValue(f, "sloprobe_websocket_round_trip_seconds_count", events) >= 9;
  }));
  const auto f = d.Collect();
  const double streams = MetricValue(f, "sloprobe_llm_time_to_first_token_seconds_count", chat);
  EXPECT_EQ(MetricValue(f, "sloprobe_llm_time_to_first_byte_seconds_count", chat), streams);
  EXPECT_GE(MetricValue(f, "sloprobe_llm_inter_chunk_seconds_count", chat), 2 * streams);
  EXPECT_GE(MetricValue(f, "sloprobe_llm_time_per_output_token_seconds_count", chat), streams);
  EXPECT_GE(MetricValue(f, "sloprobe_llm_output_tokens_total", chat), 3 * streams);
  EXPECT_EQ(MetricValue(f, "sloprobe_llm_ttft_slow_total", chat), 0);
  EXPECT_EQ(MetricValue(f, "sloprobe_llm_inter_chunk_slow_total", chat), 0);
  EXPECT_EQ(MetricValue(f, "sloprobe_websocket_round_trip_slow_total", events), 0);
  // The thresholds are bucket bounds, as for a probe of the step's type.
  auto chat_le = chat;
  chat_le["le"] = "0.444";
  EXPECT_EQ(MetricValue(f, "sloprobe_llm_time_to_first_token_seconds_bucket", chat_le), streams);
  auto events_le = events;
  events_le["le"] = "0.333";
  EXPECT_GE(MetricValue(f, "sloprobe_websocket_round_trip_seconds_bucket", events_le), 9);
  EXPECT_DOUBLE_EQ(MetricValue(f, "sloprobe_objective_ttft_seconds", {{"probe", "agent-chat"}}),
                   0.444);
  EXPECT_DOUBLE_EQ(
      MetricValue(f, "sloprobe_objective_inter_chunk_seconds", {{"probe", "agent-chat"}}), 0.055);
  EXPECT_DOUBLE_EQ(
      MetricValue(f, "sloprobe_objective_round_trip_seconds", {{"probe", "agent-socket"}}), 0.333);
  // Stream failure reasons exist on the stream step from the start.
  EXPECT_EQ(MetricValue(f, "sloprobe_probe_failures_total",
                        {{"probe", "agent-chat"}, {"step", "chat"}, {"reason", "no_tokens"}}),
            0);
  // Both scenarios time their steps.
  EXPECT_GE(MetricValue(f, "sloprobe_step_duration_seconds_count",
                        {{"probe", "agent-chat"}, {"step", "chat"}}),
            streams);
}

}  // namespace
}  // namespace sloprobe::test
