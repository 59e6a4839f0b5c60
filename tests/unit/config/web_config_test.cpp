#include "config/web_config.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/unit/config/load_helpers.hpp"

namespace sloprobe::config {
namespace {

using test::Expected;
using test::ExpectLocated;
using test::kFile;

const std::string kHash = "$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG";

// A directory with the files a web configuration names (the parser only
// checks that they can be read; their content is the TLS setup's business).
class WebConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sloprobe-web-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    for (const char* f : {"s.crt", "s.key", "ca.crt"}) std::ofstream(dir_ / f) << "pem\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  WebConfigResult Load(const std::string& yaml) const {
    return LoadWebConfigString(yaml, kFile, dir_.string());
  }
  void ExpectErrors(const std::string& yaml, const std::vector<Expected>& expected) const {
    const auto r = Load(yaml);
    EXPECT_FALSE(r.config.has_value());
    ExpectLocated(r.errors, expected);
  }

  std::filesystem::path dir_;
};

TEST_F(WebConfigTest, AnEmptyFileMeansPlainHttpAndNoAuthentication) {
  for (const char* yaml : {"", "# nothing\n", "basic_auth_users:\n"}) {
    const auto r = Load(yaml);
    ASSERT_TRUE(r.config) << yaml;
    EXPECT_FALSE(r.config->tls);
    EXPECT_TRUE(r.config->basic_auth_users.empty());
    EXPECT_FALSE(r.config->rate_limit);
  }
}

TEST_F(WebConfigTest, EveryKeyWithRelativePathsFromTheFilesDirectory) {
  const auto r = Load(R"(tls_server_config:
  cert_file: s.crt
  key_file: s.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.crt
  client_allowed_sans: ["spiffe://monitoring/prometheus", "127.0.0.1"]
  min_version: TLS13
  max_version: TLS13
  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]
  prefer_server_cipher_suites: false
  curve_preferences: [X25519, CurveP256]
http_server_config:
  http2: false
  headers:
    Strict-Transport-Security: max-age=31536000
    X-Frame-Options: deny
    X-XSS-Protection: ""
basic_auth_users:
  alice: )" + kHash + R"(
rate_limit: {interval: 100ms, burst: 20}
)");
  ASSERT_TRUE(r.config) << r.errors.at(0).ToString();
  const auto& tls = *r.config->tls;
  EXPECT_EQ(tls.cert_file, (dir_ / "s.crt").string());
  EXPECT_EQ(tls.key_file, (dir_ / "s.key").string());
  EXPECT_EQ(tls.client_ca_file, (dir_ / "ca.crt").string());
  EXPECT_EQ(tls.client_auth, WebTlsConfig::ClientAuth::kRequireAndVerifyClientCert);
  EXPECT_EQ(tls.client_allowed_sans.size(), 2u);
  EXPECT_EQ(tls.min_version, WebTlsConfig::Version::kTls13);
  EXPECT_EQ(tls.cipher_suites.at(0), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
  EXPECT_FALSE(tls.prefer_server_cipher_suites);
  EXPECT_EQ(tls.curve_preferences, (std::vector<std::string>{"X25519", "P-256"}));
  // A blank header is unset.
  EXPECT_EQ(r.config->headers.size(), 2u);
  EXPECT_EQ(r.config->basic_auth_users.at("alice"), kHash);
  EXPECT_EQ(r.config->rate_limit->burst, 20);
  EXPECT_EQ(r.config->Files().size(), 3u);
}

TEST_F(WebConfigTest, DefaultsMatchTheExporterToolkit) {
  const auto r = Load("tls_server_config: {cert_file: s.crt, key_file: s.key}\n");
  ASSERT_TRUE(r.config);
  EXPECT_EQ(r.config->tls->min_version, WebTlsConfig::Version::kTls12);
  EXPECT_EQ(r.config->tls->max_version, WebTlsConfig::Version::kTls13);
  EXPECT_EQ(r.config->tls->client_auth, WebTlsConfig::ClientAuth::kNoClientCert);
  EXPECT_TRUE(r.config->tls->prefer_server_cipher_suites);
  // An interval of 0 turns the rate limit off.
  EXPECT_FALSE(Load("rate_limit: {interval: 0s, burst: 3}\n").config->rate_limit);
}

TEST_F(WebConfigTest, TlsMistakesAreLocated) {
  ExpectErrors("tls_server_config:\n  cert_file: s.crt\n", {{2, 3, "missing 'key_file'"}});
  ExpectErrors("tls_server_config:\n  cert: x\n  cert_file: s.crt\n  key_file: s.key\n",
               {{3, 14, "set 'cert' or 'cert_file', not both"}});
  ExpectErrors("tls_server_config:\n  cert_file: nope.crt\n  key_file: s.key\n",
               {{2, 14, "cannot read 'cert_file'"}});
  ExpectErrors(
      "tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n  certfile: x\n",
      {{4, 3, "unknown key 'certfile' in 'tls_server_config'; did you mean 'cert_file'?"}});
  ExpectErrors(
      "tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n  client_ca_file: ca.crt\n",
      {{2, 3, "client CA is set but 'client_auth_type' is NoClientCert"}});
  ExpectErrors(
      "tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n"
      "  client_auth_type: RequireAndVerifyClientCert\n",
      {{4, 21, "needs 'client_ca_file'"}});
  ExpectErrors(
      "tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n"
      "  client_auth_type: RequireAndVerify\n",
      {{4, 21, "unknown 'client_auth_type' 'RequireAndVerify'"}});
  ExpectErrors(
      "tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n"
      "  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.crt\n"
      "  client_allowed_sans: [a]\n",
      {{6, 24, "'client_allowed_sans' needs 'client_auth_type' RequireAndVerifyClientCert"}});
  ExpectErrors(
      "tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n"
      "  min_version: TLS13\n  max_version: TLS12\n",
      {{2, 3, "'min_version' is above 'max_version'"}});
  ExpectErrors(
      "tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n"
      "  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n  curve_preferences: [CurveP224]\n",
      {{4, 19, "unknown or insecure cipher suite 'TLS_RSA_WITH_RC4_128_SHA'"},
       {5, 23, "unknown curve 'CurveP224'"}});
}

TEST_F(WebConfigTest, APasswordThatIsNotAHashIsRefusedWithoutBeingQuoted) {
  const auto r = Load("basic_auth_users:\n  alice: hunter2-plain\n  'bo:b': " + kHash + "\n");
  ExpectLocated(r.errors, {{2, 10, "the password of user 'alice' is not a bcrypt hash"},
                           {3, 3, "invalid user name"}});
  for (const auto& e : r.errors) EXPECT_EQ(e.message.find("hunter2"), std::string::npos);
  // A hash with a bad cost or alphabet is no hash either.
  ExpectErrors("basic_auth_users:\n  a: " + kHash.substr(0, 59) + "\n",
               {{2, 6, "not a bcrypt hash"}});
  ExpectErrors("basic_auth_users:\n  a: $2y$99$" + kHash.substr(7) + "\n",
               {{2, 6, "not a bcrypt hash"}});
}

TEST_F(WebConfigTest, HeaderAndRateLimitMistakes) {
  ExpectErrors("http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
               {{3, 22, "must be deny or sameorigin"}});
  ExpectErrors("http_server_config:\n  headers:\n    Server: me\n",
               {{3, 5, "unknown key 'Server'"}});
  ExpectErrors("http_server_config:\n  http2: maybe\n", {{2, 10, "'http2' must be true or false"}});
  ExpectErrors("rate_limit: {interval: 1s, burst: -1}\n",
               {{1, 35, "'rate_limit.burst' must not be negative"}});
  ExpectErrors("rate_limits: {}\n",
               {{1, 1, "unknown key 'rate_limits' at the top level; did you mean 'rate_limit'?"}});
  ExpectErrors("tls_server_config: [\n", {{2, 1, "YAML syntax error"}});
}

TEST(WebConfigFile, AMissingFileSaysSo) {
  const auto r = LoadWebConfigFile("/nonexistent/web.yml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].ToString(),
            "/nonexistent/web.yml: cannot read the web configuration file: No such file or "
            "directory");
}

}  // namespace
}  // namespace sloprobe::config
