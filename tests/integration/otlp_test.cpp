// OTLP export end to end in-process: the daemon pushes to the testbed's
// /v1/metrics receiver; faults on that route give 503 storms, 400s and a
// stalled receiver.
#include <gtest/gtest.h>
#include <zlib.h>

#include <boost/json/parse.hpp>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "daemon/log.hpp"
#include "daemon/otlp_exporter.hpp"
#include "tests/integration/harness.hpp"
#include "tests/integration/tls_server.hpp"

namespace sloprobe::test {
namespace {

using namespace std::chrono_literals;
using Families = std::vector<prometheus::MetricFamily>;

double Exports(const Families& f, const std::string& result) {
  return ValueOrZero(f, "sloprobe_otlp_exports_total", {{"result", result}});
}

std::string Gunzip(const std::string& in) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) return {};
  std::string out(in.size() * 20 + 1024, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&z, Z_FINISH);
  out.resize(z.total_out);
  inflateEnd(&z);
  return rc == Z_STREAM_END ? out : std::string();
}

boost::json::object ReceiverState(const TestbedServer& bed) {
  return boost::json::parse(HttpRequest(bed.Port(), "GET", "/admin/otlp").body).as_object();
}

std::string Config(const TestbedServer& bed, const std::string& otlp_extra) {
  return "otlp:\n  endpoint: \"http://127.0.0.1:" + std::to_string(bed.Port()) + "\"\n" +
         otlp_extra +
         "global: {interval: 50ms, timeout: 1s}\nprobes:\n  - name: health\n    type: http\n"
         "    request: {url: \"" +
         bed.Url("/health") + "\"}\n";
}

TEST(Otlp, ExportsProtobufWithTheConfiguredHeadersAndResource) {
  TestbedServer bed;
  ::setenv("SLOPROBE_OTLP_TEST_TOKEN", "otlp-secret-token-98765", 1);
  auto config = ConfigFromYaml("secrets:\n  token: {env: SLOPROBE_OTLP_TEST_TOKEN}\n" +
                               Config(bed,
                                      "  interval: 200ms\n"
                                      "  headers: {Authorization: \"Bearer ${secrets.token}\"}\n"
                                      "  resource: {deployment.environment: test}\n"));
  ::unsetenv("SLOPROBE_OTLP_TEST_TOKEN");
  DaemonRunner d(std::move(config));
  ASSERT_TRUE(d.WaitFor([](const Families& f) { return Exports(f, "success") >= 2; }));
  const auto state = ReceiverState(bed);
  EXPECT_GE(state.at("received").to_number<std::uint64_t>(), 2u);
  EXPECT_EQ(state.at("content_type").as_string(), "application/x-protobuf");
  EXPECT_EQ(state.at("content_encoding").as_string(), "");
  EXPECT_EQ(state.at("authorization").as_string(), "Bearer otlp-secret-token-98765");
  const auto body = HttpRequest(bed.Port(), "GET", "/admin/otlp/last").body;
  ASSERT_FALSE(body.empty());
  EXPECT_EQ(body[0], '\x0a');  // field 1 (resource_metrics), length-delimited
  for (const char* text : {"service.name", "sloprobe", "deployment.environment", "test",
                           "sloprobe_probe_runs", "sloprobe_probe_duration_seconds"}) {
    EXPECT_NE(body.find(text), std::string::npos) << text;
  }
  // Its own export metrics are not secret-bearing and count every attempt.
  const auto f = d.Collect();
  EXPECT_GE(ValueOrZero(f, "sloprobe_otlp_export_duration_seconds_count", {}), 2);
  // Every request carried a snapshot taken (and timed) before it.
  EXPECT_GE(ValueOrZero(f, "sloprobe_otlp_snapshot_duration_seconds_count", {}),
            ValueOrZero(f, "sloprobe_otlp_export_duration_seconds_count", {}));
  EXPECT_EQ(Exports(f, "rejected"), 0);
  for (const auto& family : f) {
    for (const auto& m : family.metric) {
      for (const auto& l : m.label) EXPECT_EQ(l.value.find("otlp-secret"), std::string::npos);
    }
  }
}

TEST(Otlp, JsonWithGzip) {
  TestbedServer bed;
  DaemonRunner d(
      ConfigFromYaml(Config(bed, "  interval: 200ms\n  encoding: json\n  compression: gzip\n")));
  ASSERT_TRUE(d.WaitFor([](const Families& f) { return Exports(f, "success") >= 1; }));
  const auto state = ReceiverState(bed);
  EXPECT_EQ(state.at("content_type").as_string(), "application/json");
  EXPECT_EQ(state.at("content_encoding").as_string(), "gzip");
  const auto json = Gunzip(HttpRequest(bed.Port(), "GET", "/admin/otlp/last").body);
  ASSERT_FALSE(json.empty()) << "not gzip";
  const auto v = boost::json::parse(json);
  const auto& metrics = v.at("resourceMetrics").at(0).at("scopeMetrics").at(0).at("metrics");
  bool runs = false;
  for (const auto& m : metrics.as_array()) {
    if (m.at("name") == "sloprobe_probe_runs") {
      runs = true;
      EXPECT_EQ(m.at("sum").at("aggregationTemporality"), 2);
      EXPECT_EQ(m.at("sum").at("isMonotonic"), true);
    }
  }
  EXPECT_TRUE(runs);
}

TEST(Otlp, A503StormIsRetriedWithBackoffThenDelivered) {
  TestbedServer bed;
  bed.SetFaults("- {route: /v1/metrics, error_ratio: 1, error_status: 503}\n");
  DaemonRunner d(ConfigFromYaml(Config(bed, "  interval: 100ms\n")));
  ASSERT_TRUE(d.WaitFor([](const Families& f) { return Exports(f, "retry") >= 2; }, 10s));
  auto f = d.Collect();
  EXPECT_EQ(Exports(f, "success"), 0);
  EXPECT_EQ(Exports(f, "rejected"), 0);
  // Snapshots pile up behind the one being retried, the oldest dropped.
  ASSERT_TRUE(d.WaitFor([](const Families& g) { return Exports(g, "dropped") >= 1; }, 10s));
  // Probes ran on time all along: no skipped start, none later than 100 ms.
  f = d.Collect();
  EXPECT_EQ(ValueOrZero(f, "sloprobe_probe_skipped_total", {{"probe", "health"}}), 0);
  EXPECT_EQ(ValueOrZero(f, "sloprobe_scheduler_lag_seconds_bucket", {{"le", "0.1"}}),
            ValueOrZero(f, "sloprobe_scheduler_lag_seconds_count", {}));
  bed.SetFaults("[]\n");
  ASSERT_TRUE(d.WaitFor([](const Families& g) { return Exports(g, "success") >= 1; }, 40s));
  EXPECT_GE(ReceiverState(bed).at("received").to_number<std::uint64_t>(), 1u);
}

TEST(Otlp, OtherClientErrorsAreNotRetried) {
  TestbedServer bed;
  bed.SetFaults("- {route: /v1/metrics, error_ratio: 1, error_status: 400}\n");
  DaemonRunner d(ConfigFromYaml(Config(bed, "  interval: 100ms\n")));
  ASSERT_TRUE(d.WaitFor([](const Families& f) { return Exports(f, "rejected") >= 3; }));
  EXPECT_EQ(Exports(d.Collect(), "retry"), 0);
}

TEST(Otlp, AStalledReceiverCostsTheTimeoutAndNeverDelaysProbes) {
  TestbedServer bed;
  bed.SetFaults("- {route: /v1/metrics, action: stall, stall_max: 30s}\n");
  DaemonRunner d(ConfigFromYaml(Config(bed, "  interval: 100ms\n  timeout: 300ms\n")));
  ASSERT_TRUE(d.WaitFor([](const Families& f) { return Exports(f, "retry") >= 1; }, 10s));
  const auto f = d.Collect();
  // The attempt lasted the timeout, not the stall.
  const double count = ValueOrZero(f, "sloprobe_otlp_export_duration_seconds_count", {});
  ASSERT_GE(count, 1);
  EXPECT_GE(ValueOrZero(f, "sloprobe_otlp_export_duration_seconds_sum", {}) / count, 0.29);
  EXPECT_EQ(ValueOrZero(f, "sloprobe_otlp_export_duration_seconds_bucket", {{"le", "1"}}), count);
  EXPECT_EQ(ValueOrZero(f, "sloprobe_probe_skipped_total", {{"probe", "health"}}), 0);
}

TEST(Otlp, StoppingSendsALastSnapshot) {
  TestbedServer bed;
  DaemonRunner d(ConfigFromYaml(Config(bed, "  interval: 1h\n")));
  ASSERT_TRUE(d.WaitFor([](const Families& f) {
    return ValueOrZero(f, "sloprobe_probe_runs_total", {{"probe", "health"}}) >= 3;
  }));
  EXPECT_EQ(ReceiverState(bed).at("received").to_number<std::uint64_t>(),
            0u);  // no tick in an hour
  EXPECT_LT(d.Stop(), 2s);
  EXPECT_EQ(ReceiverState(bed).at("received").to_number<std::uint64_t>(), 1u);
}

TEST(Otlp, RetryAfterSetsTheWait) {
  TestbedServer bed;
  // The backoff alone would try again within a second.
  bed.SetFaults("- {route: /v1/metrics, error_ratio: 1, error_status: 429, retry_after: \"2\"}\n");
  DaemonRunner d(ConfigFromYaml(Config(bed, "  interval: 100ms\n")));
  auto attempts = [&] {
    return ValueOrZero(d.Collect(), "sloprobe_otlp_export_duration_seconds_count", {});
  };
  ASSERT_TRUE(d.WaitFor([&](const Families&) { return attempts() >= 1; }));
  const auto first = std::chrono::steady_clock::now();
  ASSERT_TRUE(d.WaitFor([&](const Families&) { return attempts() >= 2; }, 10s));
  EXPECT_GE(std::chrono::steady_clock::now() - first, 1900ms);
  EXPECT_GE(Exports(d.Collect(), "retry"), 1);
}

// The endpoint's partial_success (protobuf and JSON) reaches the log.
class OtlpPartial : public ::testing::TestWithParam<const char*> {};

TEST_P(OtlpPartial, IsLogged) {
  TestbedServer bed;
  std::ostringstream log;
  daemon::Logger::Get().Configure(daemon::LogLevel::kInfo, daemon::LogFormat::kLogfmt, &log);
  ASSERT_EQ(HttpRequest(bed.Port(), "PUT", "/admin/otlp",
                        R"({"rejected": 3, "message": "3 points too old"})")
                .status,
            204);
  DaemonRunner d(ConfigFromYaml(
      Config(bed, std::string("  interval: 100ms\n  encoding: ") + GetParam() + "\n")));
  ASSERT_TRUE(d.WaitFor([](const Families& f) { return Exports(f, "success") >= 1; }));
  d.Stop();
  daemon::Logger::Get().Configure(daemon::LogLevel::kInfo, daemon::LogFormat::kLogfmt, &std::cerr);
  const auto text = log.str();
  EXPECT_NE(text.find("OTLP endpoint accepted the export in part"), std::string::npos) << text;
  EXPECT_NE(text.find("rejected_data_points=3"), std::string::npos) << text;
  EXPECT_NE(text.find("3 points too old"), std::string::npos) << text;
}

TEST(Otlp, AReloadStartsChangesAndStopsTheExporter) {
  TestbedServer bed;
  const std::string probes =
      "global: {interval: 50ms}\nprobes:\n  - name: health\n    type: http\n"
      "    request: {url: \"" +
      bed.Url("/health") + "\"}\n";
  DaemonRunner d(ConfigFromYaml(probes));
  EXPECT_FALSE(HasSeries(d.Collect(), "sloprobe_otlp_exports_total", {{"result", "success"}}));
  const auto with = [&](const std::string& encoding) {
    return "otlp: {endpoint: \"http://127.0.0.1:" + std::to_string(bed.Port()) +
           "\", interval: 100ms, encoding: " + encoding + "}\n" + probes;
  };
  ASSERT_TRUE(d.Reload(with("json")).ok);
  ASSERT_TRUE(d.WaitFor([](const Families& f) { return Exports(f, "success") >= 1; }));
  EXPECT_EQ(ReceiverState(bed).at("content_type").as_string(), "application/json");
  ASSERT_TRUE(d.Reload(with("protobuf")).ok);
  ASSERT_TRUE(d.WaitFor([&](const Families&) {
    return ReceiverState(bed).at("content_type").as_string() == "application/x-protobuf";
  }));
  ASSERT_TRUE(d.Reload(probes).ok);
  EXPECT_FALSE(HasSeries(d.Collect(), "sloprobe_otlp_exports_total", {{"result", "success"}}));
}

INSTANTIATE_TEST_SUITE_P(Encodings, OtlpPartial, ::testing::Values("protobuf", "json"));

TEST(Otlp, HttpsWithTheRightCaAndNotWithAnother) {
  TempDir dir;
  TlsServer server(dir);
  const auto endpoint = "https://127.0.0.1:" + std::to_string(server.Port()) + "/v1/metrics";
  auto config = [&](const std::string& ca) {
    return ConfigFromYaml("otlp:\n  endpoint: \"" + endpoint + "\"\n  interval: 100ms\n" +
                          "  tls: {ca_file: \"" + ca + "\", server_name: sloprobe.test}\n" +
                          "global: {interval: 1h}\nprobes:\n  - name: p\n    type: http\n" +
                          "    request: {url: \"http://127.0.0.1:9/\"}\n");
  };
  {
    DaemonRunner d(config(server.CertFile()));
    ASSERT_TRUE(d.WaitFor([](const Families& f) { return Exports(f, "success") >= 1; }));
  }
  // Another certificate as the only trusted one: the handshake fails, and a
  // certificate problem is not retried.
  TempDir other_dir;
  TlsServer other(other_dir);
  DaemonRunner d(config(other.CertFile()));
  ASSERT_TRUE(d.WaitFor([](const Families& f) { return Exports(f, "rejected") >= 1; }));
  EXPECT_EQ(Exports(d.Collect(), "success"), 0);
  EXPECT_EQ(Exports(d.Collect(), "retry"), 0);
}

}  // namespace
}  // namespace sloprobe::test
