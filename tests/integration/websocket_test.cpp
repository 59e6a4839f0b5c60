// WebSocket probes against the testbed's echo endpoint (/ws/echo) and a
// TLS echo server: phases, round trips against the delay the testbed
// injected, reply matching, and every way a WebSocket can go wrong.
#include <gtest/gtest.h>

#include "tests/integration/harness.hpp"
#include "tests/integration/tls_server.hpp"

namespace sloprobe::test {
namespace {

using namespace std::chrono_literals;
using probes::Reason;

std::string Probe(const std::string& url, const std::string& websocket,
                  const std::string& timeout = "1s") {
  return "name: ws\ntype: websocket\ntimeout: " + timeout + "\nrequest: {url: \"" + url +
         "\"}\nwebsocket: " + websocket + "\n";
}

std::string WsUrl(const TestbedServer& bed, const std::string& path) {
  return "ws://127.0.0.1:" + std::to_string(bed.Port()) + path;
}

TEST(WebSocketProbe, TimesTheUpgradeAndEveryRoundTrip) {
  TestbedServer bed;
  const auto r = RunOnce(ProbeFromYaml(Probe(WsUrl(bed, "/ws/echo"),
                                             "{send: '{\"op\":\"ping\"}', messages: 3, "
                                             "reply: {json: [{pointer: /op, equals: ping}]}}")));
  ASSERT_TRUE(r.Ok()) << Why(r);
  ASSERT_EQ(r.round_trips.size(), 3u);
  ASSERT_EQ(r.steps.size(), 1u);
  const auto& phases = r.steps[0].phases;
  EXPECT_TRUE(phases.connect && phases.upgrade);
  EXPECT_FALSE(phases.tls) << "plain ws has no TLS phase";
  EXPECT_FALSE(phases.ttfb) << "the upgrade is its own phase";
  EXPECT_EQ(r.steps[0].status, 101);
  probes::Duration sum = *phases.connect + *phases.upgrade;
  for (const auto rtt : r.round_trips) sum += rtt;
  EXPECT_LE(sum, r.duration) << "the phases and round trips happen within the run";
  const auto records = bed.Bed().Records();
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records.back().path, "/ws/echo");
  EXPECT_EQ(records.back().status, 101);
}

TEST(WebSocketProbe, RoundTripsIncludeTheServersDelay) {
  TestbedServer bed;
  bed.SetFaults("- route: \"GET /ws/echo\"\n  delay: 30ms\n");
  const auto r =
      RunOnce(ProbeFromYaml(Probe(WsUrl(bed, "/ws/echo"), "{send: hello, messages: 2}")));
  ASSERT_TRUE(r.Ok()) << Why(r);
  ASSERT_EQ(r.round_trips.size(), 2u);
  for (const auto rtt : r.round_trips) EXPECT_GE(rtt, 30ms);
  EXPECT_LT(*r.steps[0].phases.upgrade, 30ms) << "the delay is on the messages, not the upgrade";
}

TEST(WebSocketProbe, OtherMessagesBeforeTheReplyAreSkipped) {
  TestbedServer bed;
  // ?push=1: a heartbeat comes before every echo.
  const auto matched = RunOnce(ProbeFromYaml(
      Probe(WsUrl(bed, "/ws/echo?push=1"), "{send: marco, reply: {contains: marco}}")));
  ASSERT_TRUE(matched.Ok()) << Why(matched);
  EXPECT_EQ(matched.round_trips.size(), 1u);

  const auto unmatched = RunOnce(ProbeFromYaml(
      Probe(WsUrl(bed, "/ws/echo?push=1"), "{send: marco, reply: {regex: '^polo$'}}", "300ms")));
  EXPECT_EQ(unmatched.reason, Reason::kTimeout) << Why(unmatched);
  EXPECT_NE(
      unmatched.detail.find("waiting for the reply to message 1 of 1 (2 other messages came)"),
      std::string::npos)
      << unmatched.detail;
  EXPECT_TRUE(unmatched.round_trips.empty());
}

TEST(WebSocketProbe, EachFailureHasItsReason) {
  TestbedServer bed;
  struct Case {
    const char* faults;
    const char* path;
    Reason reason;
    const char* detail;
  };
  const Case cases[] = {
      {"", "/health", Reason::kHttpStatus, "upgrade refused: status 200, expected 101"},
      {"- {route: /ws/echo, error_ratio: 1, error_status: 401}", "/ws/echo", Reason::kAuth,
       "upgrade refused: status 401"},
      {"- {route: /ws/echo, error_ratio: 1, error_status: 429}", "/ws/echo", Reason::kRateLimited,
       "upgrade refused: status 429"},
      {"- {route: /ws/echo, action: stall}", "/ws/echo", Reason::kTimeout,
       "timed out waiting for the reply to message 1 of 1"},
      {"- {route: /ws/echo, action: ws_close}", "/ws/echo", Reason::kProtocol,
       "the server closed the WebSocket (code 1011, 'injected close')"},
      {"- {route: /ws/echo, action: reset_mid_body}", "/ws/echo", Reason::kProtocol,
       "waiting for the reply to message 1 of 1"},
      {"- {route: /ws/echo, action: reset_before_headers}", "/ws/echo", Reason::kProtocol,
       "WebSocket upgrade failed"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.faults) + " " + c.path);
    bed.SetFaults(c.faults);
    const auto r = RunOnce(ProbeFromYaml(Probe(WsUrl(bed, c.path), "{send: hello}", "300ms")));
    EXPECT_EQ(r.reason, c.reason) << Why(r);
    EXPECT_NE(r.detail.find(c.detail), std::string::npos) << r.detail;
    EXPECT_EQ(r.step, "request");
    EXPECT_LE(r.duration, 1s) << "bounded by the timeout";
  }
  const auto refused = RunOnce(ProbeFromYaml(Probe("ws://127.0.0.1:1/ws", "{send: hello}")));
  EXPECT_EQ(refused.reason, Reason::kConnect) << Why(refused);
}

TEST(WebSocketProbe, AMessageOverTheBodyLimitFails) {
  TestbedServer bed;
  const std::string big(2000, 'x');
  const auto r = RunOnce(ProbeFromYaml("name: ws\ntype: websocket\ntimeout: 1s\nrequest: {url: \"" +
                                       WsUrl(bed, "/ws/echo") +
                                       "\", body_limit: 1000}\nwebsocket: {send: " + big + "}\n"));
  EXPECT_EQ(r.reason, Reason::kBodyTooLarge) << Why(r);
}

TEST(WebSocketProbe, SecureWebSocketsHaveATlsPhase) {
  TempDir dir;
  TlsServer server(dir);
  const std::string url = "wss://127.0.0.1:" + std::to_string(server.Port()) + "/ws";
  const auto probe = [&](const std::string& tls) {
    return ProbeFromYaml("name: ws\ntype: websocket\ntimeout: 2s\nrequest: {url: \"" + url +
                         "\", tls: " + tls + "}\nwebsocket: {send: hi, messages: 2}\n");
  };
  const auto r = RunOnce(probe("{ca_file: " + server.CertFile() + ", server_name: sloprobe.test}"));
  ASSERT_TRUE(r.Ok()) << Why(r);
  EXPECT_EQ(r.round_trips.size(), 2u);
  EXPECT_TRUE(r.steps[0].phases.tls && r.steps[0].phases.upgrade);
  EXPECT_TRUE(r.cert_not_after.has_value());
  // Without the CA the certificate is not trusted.
  const auto untrusted = RunOnce(probe("{server_name: sloprobe.test}"));
  EXPECT_EQ(untrusted.reason, Reason::kTls) << Why(untrusted);
}

TEST(WebSocketDaemon, ExportsRoundTripsUpgradeAndTheObjective) {
  TestbedServer bed;
  // 20 ms per reply: every round trip lands above 15 ms, the threshold.
  bed.SetFaults("- route: \"GET /ws/echo\"\n  delay: 20ms\n");
  DaemonRunner d(ConfigFromYaml(
      "global: {interval: 100ms, timeout: 2s}\nprobes:\n  - name: ws\n    type: websocket\n"
      "    request: {url: \"" +
      WsUrl(bed, "/ws/echo") +
      "\"}\n    websocket: {send: hi, messages: 2}\n"
      "    objectives: {round_trip: {quantile: 0.9, threshold: 15ms}}\n"));
  const LabelSet probe{{"probe", "ws"}};
  ASSERT_TRUE(d.WaitFor(
      [&](const std::vector<prometheus::MetricFamily>& f) { return ProbeRuns(f, "ws") >= 2; }));
  const auto f = d.Collect();
  const double runs = ProbeRuns(f, "ws");
  const double trips = MetricValue(f, "sloprobe_websocket_round_trip_seconds_count", probe);
  EXPECT_GE(trips, 2 * runs - 2) << "two per finished run (a run may finish between reads)";
  EXPECT_LE(trips, 2 * runs + 2);
  auto le = probe;
  le["le"] = "0.015";
  EXPECT_EQ(MetricValue(f, "sloprobe_websocket_round_trip_seconds_bucket", le), 0)
      << "the threshold is a bucket bound, and every round trip is above it";
  EXPECT_EQ(MetricValue(f, "sloprobe_websocket_round_trip_slow_total", probe),
            MetricValue(f, "sloprobe_websocket_round_trip_seconds_count", probe));
  EXPECT_DOUBLE_EQ(MetricValue(f, "sloprobe_objective_round_trip_seconds", probe), 0.015);
  EXPECT_DOUBLE_EQ(MetricValue(f, "sloprobe_objective_round_trip_quantile", probe), 0.9);
  EXPECT_GE(MetricValue(f, "sloprobe_http_phase_duration_seconds_count",
                        {{"probe", "ws"}, {"step", "request"}, {"phase", "upgrade"}}),
            1);
  EXPECT_FALSE(HasSeries(f, "sloprobe_http_phase_duration_seconds_count",
                         {{"probe", "ws"}, {"step", "request"}, {"phase", "ttfb"}}));
}

}  // namespace
}  // namespace sloprobe::test
