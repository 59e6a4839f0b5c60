#include <gtest/gtest.h>

#include <cstdlib>

#include "tests/unit/config/load_helpers.hpp"

namespace sloprobe::config {
namespace {

using test::ExpectErrors;
using test::Load;

const std::string kProbes = R"(probes:
  - name: p
    type: http
    request: {url: "http://h/"}
)";

TEST(OtlpConfig, DefaultsAndTheStandardPath) {
  const auto r = Load("otlp: {endpoint: \"http://collector:4318\"}\n" + kProbes);
  ASSERT_TRUE(r.config) << r.errors.at(0).ToString();
  ASSERT_TRUE(r.config->otlp);
  const auto& o = *r.config->otlp;
  EXPECT_EQ(o.endpoint.buffer(), "http://collector:4318/v1/metrics");
  EXPECT_EQ(o.interval, std::chrono::seconds(15));
  EXPECT_EQ(o.timeout, std::chrono::seconds(10));
  EXPECT_EQ(o.encoding, OtlpConfig::Encoding::kProtobuf);
  EXPECT_FALSE(o.gzip);
  EXPECT_TRUE(o.headers.empty());
  EXPECT_FALSE(Load(kProbes).config->otlp);
}

TEST(OtlpConfig, EveryKeyAndSecretsInHeaders) {
  ::setenv("SLOPROBE_OTLP_TOKEN", "otlp-token-value-1234", 1);
  const auto r = Load(R"(secrets:
  token: {env: SLOPROBE_OTLP_TOKEN}
otlp:
  endpoint: "https://otel.example:4318/custom/path"
  headers: {Authorization: "Bearer ${secrets.token}"}
  interval: 30s
  timeout: 5s
  encoding: json
  compression: gzip
  resource: {deployment.environment: prod, service.name: probes-eu}
  tls: {server_name: otel.example}
)" + kProbes);
  ::unsetenv("SLOPROBE_OTLP_TOKEN");
  ASSERT_TRUE(r.config) << r.errors.at(0).ToString();
  const auto& o = *r.config->otlp;
  EXPECT_EQ(o.endpoint.buffer(), "https://otel.example:4318/custom/path");
  ASSERT_EQ(o.headers.size(), 1u);
  EXPECT_EQ(o.headers[0].value, "Bearer otlp-token-value-1234");
  EXPECT_EQ(o.interval, std::chrono::seconds(30));
  EXPECT_EQ(o.timeout, std::chrono::seconds(5));
  EXPECT_EQ(o.encoding, OtlpConfig::Encoding::kJson);
  EXPECT_TRUE(o.gzip);
  EXPECT_EQ(o.resource, (std::vector<std::pair<std::string, std::string>>{
                            {"deployment.environment", "prod"}, {"service.name", "probes-eu"}}));
  EXPECT_EQ(o.tls.server_name, "otel.example");
  EXPECT_EQ(o.fingerprint.find("otlp-token-value-1234"), std::string::npos);
}

TEST(OtlpConfig, ErrorsAreLocated) {
  ExpectErrors("otlp:\n  endpont: http://c/\n" + kProbes,
               {{2, 3, "did you mean 'endpoint'"}, {2, 3, "'otlp' needs an 'endpoint'"}});
  ExpectErrors("otlp:\n  endpoint: ftp://c/\n" + kProbes,
               {{2, 13, "'otlp.endpoint' must start with http:// or https://"}});
  ExpectErrors("otlp:\n  endpoint: http://c/\n  encoding: xml\n" + kProbes,
               {{3, 13, "'otlp.encoding' must be 'protobuf' or 'json', not 'xml'"}});
  ExpectErrors("otlp:\n  endpoint: http://c/\n  compression: zstd\n" + kProbes,
               {{3, 16, "'otlp.compression' must be 'gzip' or 'none'"}});
  ExpectErrors("otlp:\n  endpoint: http://c/\n  tls: {insecure_skip_verify: true}\n" + kProbes,
               {{3, 8, "'tls' is set but the endpoint is http://"}});
  ExpectErrors("otlp:\n  endpoint: http://c/\n  interval: 0s\n" + kProbes,
               {{3, 13, "'otlp.interval'"}});
}

}  // namespace
}  // namespace sloprobe::config
