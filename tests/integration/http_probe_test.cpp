// The HTTP probe against real servers on loopback: each failure reason from
// the fault that causes it, phases, keep-alive, redirects, TLS and timing.
#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <fstream>

#include "probes/common/probe.hpp"
#include "tests/integration/harness.hpp"
#include "tests/integration/tls_server.hpp"

namespace sloprobe::test {
namespace {

using namespace std::chrono_literals;
using probes::Reason;

// How much later than the server's own answer a client may see it on
// loopback. Sanitizer builds run Beast's parser and serializer unoptimized.
#ifdef SLOPROBE_SANITIZED
constexpr auto kLoopbackSlack = 25ms;
#else
constexpr auto kLoopbackSlack = 3ms;
#endif
namespace asio = boost::asio;

class HttpProbeTest : public ::testing::Test {
 protected:
  // A probe of `path` on the testbed with extra YAML lines for the probe.
  config::ProbeConfig Probe(const std::string& path, const std::string& request_extra = "",
                            const std::string& probe_extra = "") {
    const std::string timeout =
        probe_extra.find("timeout:") == std::string::npos ? "timeout: 2s\n" : "";
    return ProbeFromYaml("name: t\ntype: http\n" + timeout + "request:\n  url: \"" +
                         bed_.Url(path) + "\"\n" + request_extra + probe_extra);
  }
  TestbedServer bed_;
};

TEST_F(HttpProbeTest, HealthyRunHasPlainHttpPhases) {
  const auto r = RunOnce(Probe("/health", "", "expect: {status: [200], body_contains: ok}\n"));
  ASSERT_TRUE(r.Ok()) << r.detail;
  ASSERT_EQ(r.steps.size(), 1u);
  const auto& s = r.steps[0];
  EXPECT_EQ(s.status, 200);
  EXPECT_TRUE(s.phases.resolve && s.phases.connect && s.phases.ttfb && s.phases.transfer);
  EXPECT_FALSE(s.phases.tls);
  const auto sum = *s.phases.resolve + *s.phases.connect + *s.phases.ttfb + *s.phases.transfer;
  EXPECT_LE(sum, r.duration);
}

TEST_F(HttpProbeTest, ConnectionRefusedIsConnect) {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
  const auto port = a.local_endpoint().port();
  a.close();  // nothing listens there any more
  const auto r = RunOnce(ProbeFromYaml(
      "name: t\ntype: http\nrequest: {url: \"http://127.0.0.1:" + std::to_string(port) + "/\"}"));
  EXPECT_EQ(r.reason, Reason::kConnect);
  EXPECT_NE(r.detail.find("Connection refused"), std::string::npos) << r.detail;
}

TEST_F(HttpProbeTest, UnresolvableNameIsDns) {
  const auto r =
      RunOnce(ProbeFromYaml("name: t\ntype: http\ntimeout: 5s\n"
                            "request: {url: \"http://no-such-host.invalid/\"}"));
  // A resolver that cannot answer within the timeout gives "timeout"; one
  // that answers says the name does not exist.
  EXPECT_TRUE(r.reason == Reason::kDns || r.reason == Reason::kTimeout) << r.detail;
  EXPECT_NE(r.detail.find("no-such-host.invalid"), std::string::npos) << r.detail;
}

TEST_F(HttpProbeTest, StallHitsTheDeadlineOnTime) {
  bed_.SetFaults("- {route: /health, action: stall}");
  const auto r = RunOnce(Probe("/health", "", "timeout: 300ms\n"));
  EXPECT_EQ(r.reason, Reason::kTimeout);
  EXPECT_EQ(r.detail, "timed out waiting for the response");
  EXPECT_GE(r.duration, 300ms);
  EXPECT_LT(r.duration, 400ms);  // one deadline for everything
}

TEST_F(HttpProbeTest, SlowBodyTimesOutInTheBody) {
  bed_.SetFaults("- {route: /health, action: slow_body, slow_interval: 50ms}");
  const auto r = RunOnce(Probe("/health", "", "timeout: 300ms\n"));
  EXPECT_EQ(r.reason, Reason::kTimeout);
  EXPECT_EQ(r.detail, "timed out reading the response body");
  EXPECT_TRUE(r.steps[0].phases.ttfb);  // the headers did arrive
}

TEST_F(HttpProbeTest, StatusFailuresAreToldApart) {
  bed_.SetFaults("- {route: /health, error_ratio: 1, error_status: 503}");
  auto r = RunOnce(Probe("/health"));
  EXPECT_EQ(r.reason, Reason::kHttpStatus);
  EXPECT_EQ(r.detail, "status 503, expected 2xx");
  EXPECT_EQ(r.steps[0].status, 503);

  r = RunOnce(Probe("/agents"));  // no token
  EXPECT_EQ(r.reason, Reason::kAuth);

  r = RunOnce(Probe("/auth/login", "  method: POST\n  json: {username: probe}\n"));
  EXPECT_EQ(r.reason, Reason::kHttpStatus);  // 422
  EXPECT_EQ(r.steps[0].status, 422);
}

TEST(HttpProbeRateLimit, TooManyLoginsIsRateLimited) {
  testbed::Options options;
  options.logins_per_minute = 2;
  TestbedServer bed(options);
  const auto probe = ProbeFromYaml("name: t\ntype: http\nrequest:\n  method: POST\n  url: \"" +
                                   bed.Url("/auth/login") +
                                   "\"\n  json: {username: probe, password: probe-password}\n");
  EXPECT_TRUE(RunOnce(probe).Ok());
  EXPECT_TRUE(RunOnce(probe).Ok());
  const auto r = RunOnce(probe);
  EXPECT_EQ(r.reason, Reason::kRateLimited);
  EXPECT_EQ(r.steps[0].status, 429);
}

TEST_F(HttpProbeTest, ExpectationFailures) {
  auto r = RunOnce(Probe("/health", "", "expect: {body_contains: nope}\n"));
  EXPECT_EQ(r.reason, Reason::kExpectation);
  r = RunOnce(Probe("/health", "", "expect: {json: [{pointer: /status, equals: degraded}]}\n"));
  EXPECT_EQ(r.reason, Reason::kExpectation);
  EXPECT_EQ(r.detail, R"(JSON Pointer '/status' is "ok", expected "degraded")");
}

TEST_F(HttpProbeTest, BodyOverTheLimit) {
  bed_.SetFaults("- {route: /health, body_bytes: 5000}");
  EXPECT_TRUE(RunOnce(Probe("/health", "  body_limit: 5000\n")).Ok());
  const auto r = RunOnce(Probe("/health", "  body_limit: 4999\n"));
  EXPECT_EQ(r.reason, Reason::kBodyTooLarge);
  EXPECT_EQ(r.detail, "response body larger than the limit of 4999 bytes");
}

TEST_F(HttpProbeTest, BrokenResponsesAreProtocolOrTruncated) {
  const std::pair<const char*, Reason> cases[] = {
      {"garbage_status", Reason::kProtocol},  {"reset_before_headers", Reason::kProtocol},
      {"huge_headers", Reason::kProtocol},    {"bad_chunked", Reason::kProtocol},
      {"reset_mid_body", Reason::kTruncated},
  };
  for (const auto& [action, reason] : cases) {
    bed_.SetFaults(std::string("- {route: /health, action: ") + action + "}");
    const auto r = RunOnce(Probe("/health"));
    EXPECT_EQ(r.reason, reason) << action << ": " << r.detail;
    EXPECT_FALSE(r.detail.empty()) << action;
    EXPECT_LT(r.duration, 1s) << action;
  }
}

TEST_F(HttpProbeTest, HeadRequestsNeedNoBody) {
  const auto r = RunOnce(Probe("/health", "  method: HEAD\n"));
  EXPECT_TRUE(r.Ok()) << r.detail;
}

TEST_F(HttpProbeTest, RedirectsAreOffByDefaultAndBounded) {
  const std::string to = "/redirect?to=" + bed_.Url("/health");
  auto r = RunOnce(Probe(to));
  EXPECT_EQ(r.reason, Reason::kHttpStatus);
  EXPECT_EQ(r.steps[0].status, 302);

  r = RunOnce(Probe(to, "  follow_redirects: 1\n", "expect: {body_contains: ok}\n"));
  EXPECT_TRUE(r.Ok()) << r.detail;
  EXPECT_EQ(r.steps[0].status, 200);

  r = RunOnce(Probe("/loop", "  follow_redirects: 5\n"));
  EXPECT_EQ(r.reason, Reason::kHttpStatus);  // still redirecting after 5 hops
  EXPECT_EQ(bed_.Bed().Records().size(), 3u + 6u);
}

TEST_F(HttpProbeTest, PostFollowingA302BecomesAGet) {
  // /health answers 405 to POST: only a GET after the redirect succeeds.
  const auto r = RunOnce(Probe("/redirect?to=/health",
                               "  method: POST\n  json: {x: 1}\n  follow_redirects: 1\n",
                               "expect: {body_contains: ok}\n"));
  EXPECT_TRUE(r.Ok()) << r.detail;
  const auto records = bed_.Bed().Records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].method, "POST");
  EXPECT_EQ(records[1].method, "GET");
}

TEST(HttpProbeRedirect, CredentialsStayWithTheirOrigin) {
  testbed::Options options;
  options.api_keys["key-for-a-only"] = "probe";
  TestbedServer a(options);
  TestbedServer b(options);
  const auto via_a = [&](const std::string& to) {
    return ProbeFromYaml("name: t\ntype: http\nrequest:\n  url: \"" + a.Url("/redirect?to=" + to) +
                         "\"\n  follow_redirects: 1\n"
                         "  headers: {Authorization: \"Bearer key-for-a-only\"}\n");
  };
  // Same origin: the token goes along. Other origin: it does not.
  EXPECT_TRUE(RunOnce(via_a("/agents")).Ok());
  const auto r = RunOnce(via_a(b.Url("/agents")));
  EXPECT_EQ(r.reason, Reason::kAuth);
}

TEST_F(HttpProbeTest, KeepAliveReusesTheConnection) {
  const auto results = RunRepeatedly(Probe("/health", "  keep_alive: true\n"), 5);
  ASSERT_EQ(results.size(), 5u);
  EXPECT_TRUE(results[0].steps[0].phases.connect);
  for (int i = 1; i < 5; ++i) {
    EXPECT_TRUE(results[i].Ok()) << results[i].detail;
    EXPECT_FALSE(results[i].steps[0].phases.connect) << "run " << i << " reconnected";
  }
}

TEST_F(HttpProbeTest, KeepAliveSurvivesTheServerClosingIdleConnections) {
  // From the second run on, the server resets the pooled connection before
  // any response byte: the client retries on a fresh connection once, as
  // HTTP clients do for idempotent requests, and that one is reset too.
  const auto results = RunRepeatedly(Probe("/health", "  keep_alive: true\n"), 2, [&](int i) {
    if (i == 1) bed_.SetFaults("- {route: /health, action: reset_before_headers}");
  });
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].Ok());
  EXPECT_EQ(results[1].reason, Reason::kProtocol);
  // Both attempts of the second run reached the server: one retry, no more.
  EXPECT_EQ(bed_.Bed().Records().size(), 3u);
}

TEST_F(HttpProbeTest, TtfbMatchesTheInjectedDelay) {
  bed_.SetFaults("- {route: /health, delay: 20ms}");
  for (int i = 0; i < 5; ++i) {
    bed_.Bed().ClearRecords();
    const auto r = RunOnce(Probe("/health"));
    ASSERT_TRUE(r.Ok()) << r.detail;
    const auto records = bed_.Bed().Records();
    ASSERT_EQ(records.size(), 1u);
    const auto ttfb = *r.steps[0].phases.ttfb;
    const auto truth = records[0].actual;
    EXPECT_GE(truth, 20ms);  // the delay was injected
    // Never earlier than the server really answered, and only the loopback
    // round trip later.
    EXPECT_GE(ttfb, truth);
    EXPECT_LT(ttfb - truth, kLoopbackSlack);
  }
}

class TlsProbeTest : public ::testing::Test {
 protected:
  config::ProbeConfig Probe(const std::string& tls_yaml) {
    return ProbeFromYaml("name: t\ntype: http\ntimeout: 2s\nrequest:\n  url: \"https://127.0.0.1:" +
                         std::to_string(server_.Port()) + "/\"\n  tls: " + tls_yaml +
                         "\nexpect: {body_contains: tls ok}\n");
  }
  TempDir dir_;
  TlsServer server_{dir_};
};

TEST_F(TlsProbeTest, VerifiedWithTheRightCaAndName) {
  const auto r =
      RunOnce(Probe("{ca_file: " + server_.CertFile() + ", server_name: sloprobe.test}"));
  ASSERT_TRUE(r.Ok()) << r.detail;
  EXPECT_TRUE(r.steps[0].phases.tls);
  // The certificate was made for 30 days from now.
  ASSERT_TRUE(r.cert_not_after);
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  EXPECT_NEAR(static_cast<double>(*r.cert_not_after - now), 30 * 86400.0, 120.0);
  // By IP address, which the certificate also names.
  EXPECT_TRUE(RunOnce(Probe("{ca_file: " + server_.CertFile() + "}")).Ok());
}

TEST_F(TlsProbeTest, SelfSignedWithoutTheCaFails) {
  const auto r = RunOnce(Probe("{server_name: sloprobe.test}"));
  EXPECT_EQ(r.reason, Reason::kTls);
  EXPECT_NE(r.detail.find("certificate verification failed: self-signed certificate"),
            std::string::npos)
      << r.detail;
}

TEST_F(TlsProbeTest, WrongHostNameFails) {
  const auto r = RunOnce(Probe("{ca_file: " + server_.CertFile() + ", server_name: other.test}"));
  EXPECT_EQ(r.reason, Reason::kTls);
  EXPECT_NE(r.detail.find("certificate verification failed"), std::string::npos) << r.detail;
}

TEST_F(TlsProbeTest, InsecureSkipVerifyConnects) {
  EXPECT_TRUE(RunOnce(Probe("{insecure_skip_verify: true}")).Ok());
}

TEST(TlsHandshakeStall, TimesOutInTheHandshake) {
  // Accepts TCP and never says a word.
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  asio::ip::tcp::socket held(io);
  std::thread t([&] { acceptor.accept(held); });
  const auto r =
      RunOnce(ProbeFromYaml("name: t\ntype: http\ntimeout: 300ms\nrequest: {url: "
                            "\"https://127.0.0.1:" +
                            std::to_string(acceptor.local_endpoint().port()) + "/\"}"));
  t.join();
  EXPECT_EQ(r.reason, Reason::kTimeout);
  EXPECT_EQ(r.detail, "timed out in the TLS handshake");
  EXPECT_LT(r.duration, 400ms);
}

}  // namespace
}  // namespace sloprobe::test
