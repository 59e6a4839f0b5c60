#include "config/loader.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tests/unit/config/load_helpers.hpp"

namespace sloprobe::config {
namespace {

using test::Expected;
using test::ExpectErrors;
using test::ExpectLocated;
using test::kFile;
using test::Load;

constexpr const char* kMinimal = R"(probes:
  - name: health
    type: http
    request: {url: "http://127.0.0.1:9002/health"}
)";

TEST(Loader, MinimalConfigGetsDefaults) {
  const auto r = Load(kMinimal);
  ASSERT_TRUE(r.config) << (r.errors.empty() ? "" : r.errors[0].ToString());
  ASSERT_EQ(r.config->probes.size(), 1u);
  const auto& p = r.config->probes[0];
  EXPECT_EQ(p.name, "health");
  EXPECT_EQ(p.interval, std::chrono::seconds(30));
  EXPECT_EQ(p.timeout, std::chrono::seconds(10));
  EXPECT_EQ(p.max_in_flight, 1);
  EXPECT_EQ(p.request.method, "GET");
  EXPECT_EQ(p.request.url.buffer(), "http://127.0.0.1:9002/health");
  EXPECT_EQ(p.request.body_limit, 1u << 20);
  EXPECT_FALSE(p.request.keep_alive);
  EXPECT_EQ(p.request.follow_redirects, 0);
  EXPECT_TRUE(p.expect.status.empty());
  EXPECT_EQ(p.location.line, 2);
}

TEST(Loader, FullHttpProbe) {
  ::setenv("SLOPROBE_TEST_TOKEN", "s3cret-token-value", 1);
  const auto r = Load(R"(global:
  interval: 15s
  timeout: 3s
secrets:
  token: {env: SLOPROBE_TEST_TOKEN}
probes:
  - name: api.v1-login
    type: http
    interval: 250ms
    timeout: 2s
    jitter: 100ms
    max_in_flight: 3
    request:
      method: post
      url: "https://example.test:8443/auth/login?x=1#frag"
      headers: {X-Api-Key: "${secrets.token}", X-Literal: "$${not_a_var}"}
      json: {username: probe, password: "${secrets.token}", remember: true, n: 3, ratio: 0.5, s: "42"}
      keep_alive: true
      follow_redirects: 3
      body_limit: 64KiB
      tls: {insecure_skip_verify: true, server_name: api.example.test}
    expect:
      status: [200, 2xx, 301]
      body_contains: token
      body_regex: "\"access_token\":\\s*\""
      json: [{pointer: /token_type, equals: bearer}, {pointer: /expires_in}]
      headers: {Content-Type: {contains: json}, X-Id: {exists: true}}
    objectives: {latency: {quantile: 0.99, threshold: 200ms}, error_ratio: 0.01}
    buckets: {duration: [0.05, 0.1, 1], phase: [0.001, 0.01]}
)");
  ASSERT_TRUE(r.config) << (r.errors.empty() ? "" : r.errors[0].ToString());
  EXPECT_EQ(r.config->global.interval, std::chrono::seconds(15));
  const auto& p = r.config->probes[0];
  EXPECT_EQ(p.interval, std::chrono::milliseconds(250));
  EXPECT_EQ(p.timeout, std::chrono::seconds(2));
  EXPECT_EQ(p.jitter, std::chrono::milliseconds(100));
  EXPECT_EQ(p.max_in_flight, 3);
  EXPECT_EQ(p.request.method, "POST");
  EXPECT_EQ(p.request.url.buffer(), "https://example.test:8443/auth/login?x=1");
  ASSERT_EQ(p.request.headers.size(), 3u);
  EXPECT_EQ(p.request.headers[0].value, "s3cret-token-value");
  EXPECT_EQ(p.request.headers[1].value, "${not_a_var}");
  EXPECT_EQ(p.request.headers[2].name, "Content-Type");
  EXPECT_EQ(
      p.request.body,
      R"({"username":"probe","password":"s3cret-token-value","remember":true,"n":3,"ratio":5E-1,"s":"42"})");
  EXPECT_TRUE(p.request.keep_alive);
  EXPECT_EQ(p.request.follow_redirects, 3);
  EXPECT_EQ(p.request.body_limit, 65536u);
  EXPECT_TRUE(p.request.tls.insecure_skip_verify);
  EXPECT_EQ(p.request.tls.server_name, "api.example.test");
  ASSERT_EQ(p.expect.status.size(), 3u);
  EXPECT_EQ(p.expect.status[1], (StatusRange{200, 299}));
  EXPECT_EQ(*p.expect.body_contains, "token");
  ASSERT_TRUE(p.expect.body_regex);
  ASSERT_EQ(p.expect.json.size(), 2u);
  EXPECT_EQ(p.expect.json[0].equals->as_string(), "bearer");
  EXPECT_FALSE(p.expect.json[1].equals);
  ASSERT_EQ(p.expect.headers.size(), 2u);
  EXPECT_EQ(p.expect.headers[0].op, HeaderExpectation::Op::kContains);
  EXPECT_EQ(p.objectives.latency->threshold, std::chrono::milliseconds(200));
  EXPECT_DOUBLE_EQ(p.objectives.latency->quantile, 0.99);
  EXPECT_DOUBLE_EQ(*p.objectives.error_ratio, 0.01);
  EXPECT_EQ(p.buckets.duration, (std::vector<double>{0.05, 0.1, 1}));
  EXPECT_EQ(r.config->redactor.Redact("x s3cret-token-value y"), "x <redacted> y");
}

TEST(Loader, ConfiguredContentTypeWinsOverTheJsonDefault) {
  const auto r = Load(R"(probes:
  - name: a
    type: http
    request:
      url: "http://h/"
      headers: {content-type: application/vnd.api+json}
      json: {a: 1}
)");
  ASSERT_TRUE(r.config) << r.errors[0].ToString();
  const auto& h = r.config->probes[0].request.headers;
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].value, "application/vnd.api+json");
}

TEST(Loader, UnknownKeySuggestsTheClosest) {
  ExpectErrors(R"(probes:
  - name: health
    type: http
    intervl: 10s
    request: {url: "http://127.0.0.1/"}
)",
               {{4, 5, "unknown key 'intervl' in probe 'health'; did you mean 'interval'?"}});
}

TEST(Loader, UnknownTopLevelAndNestedKeys) {
  ExpectErrors(R"(globl: {interval: 1s}
probes:
  - name: a
    type: http
    request: {url: "http://127.0.0.1/", methd: GET}
    expect: {stauts: [200]}
    objectives: {latency: {threshold: 1s, quantil: 0.9}}
)",
               {{1, 1, "did you mean 'global'?"},
                {5, 41, "did you mean 'method'?"},
                {6, 14, "did you mean 'status'?"},
                {7, 43, "did you mean 'quantile'?"}});
}

TEST(Loader, ReportsEveryErrorNotJustTheFirst) {
  ExpectErrors(R"(global:
  interval: 10x
  timeout: 0s
probes:
  - name: "bad name!"
    type: http
    request: {url: "ftp://127.0.0.1/"}
  - name: b
    type: htp
  - name: c
    type: websocket
    request: {url: "http://x/"}
    websocket: {send: hi}
  - type: http
    request: {url: "http://x/"}
)",
               {{2, 13, "invalid duration '10x'"},
                {3, 12, "must be greater than zero"},
                {5, 11, "invalid probe name 'bad name!'"},
                {7, 20, "must start with http:// or https://"},
                {9, 11, "unknown probe type 'htp' in probe 'b'; did you mean 'http'?"},
                {12, 20, "must start with ws:// or wss://"},
                {14, 5, "probe #4 has no 'name'"}});
}

TEST(Loader, WrongTypes) {
  ExpectErrors(R"(probes:
  - name: a
    type: http
    max_in_flight: many
    request:
      url: [1, 2]
      keep_alive: sometimes
      follow_redirects: 50
      headers: [a, b]
)",
               {{4, 20, "'max_in_flight' must be a whole number, got 'many'"},
                {6, 12, "'url' must be a string"},
                {7, 19, "'keep_alive' must be true or false"},
                {8, 25, "'follow_redirects' must be between 0 and 20"},
                {9, 16, "'headers' must be a mapping"}});
}

TEST(Loader, BadUrls) {
  ExpectErrors(R"(probes:
  - {name: a, type: http, request: {url: "not a url"}}
  - {name: b, type: http, request: {url: "http:///nohost"}}
  - {name: c, type: http, request: {url: "http://user:pw@host/"}}
  - {name: d, type: http, request: {}}
)",
               {{2, 42, "URL 'not a url' is not a valid URL"},
                {3, 42, "has no host"},
                {4, 42, "holds credentials; use 'basic_auth'"},
                {5, 36, "missing 'url'"}});
}

TEST(Loader, DuplicateProbeNamesAndKeys) {
  ExpectErrors(R"(probes:
  - {name: same, type: http, request: {url: "http://h/"}}
  - name: same
    type: http
    type: http
    request: {url: "http://h/"}
)",
               {{3, 11, "duplicate probe name 'same' (first defined at line 2)"},
                {5, 5, "duplicate key 'type'"}});
}

TEST(Loader, ObjectivesOutOfRange) {
  ExpectErrors(R"(probes:
  - name: a
    type: http
    timeout: 1s
    request: {url: "http://h/"}
    objectives:
      latency: {quantile: 1.5, threshold: 20ms}
      error_ratio: 0
  - name: b
    type: http
    timeout: 1s
    request: {url: "http://h/"}
    objectives: {latency: {threshold: 2s}}
  - name: c
    type: http
    request: {url: "http://h/"}
    objectives: {latency: {quantile: 0.9}}
)",
               {{7, 27, "'latency.quantile' must be between 0 and 1"},
                {8, 20, "'error_ratio' must be between 0 and 1"},
                {13, 27, "latency threshold 2s is longer than the timeout 1s"},
                {17, 27, "'latency' needs 'threshold'"}});
}

TEST(Loader, JitterMustBeShorterThanInterval) {
  ExpectErrors(R"(probes:
  - {name: a, type: http, interval: 1s, jitter: 1s, request: {url: "http://h/"}}
)",
               {{2, 49, "'jitter' (1s) must be shorter than 'interval' (1s)"}});
}

TEST(Loader, ExpectationErrors) {
  ExpectErrors(R"(probes:
  - name: a
    type: http
    request: {url: "http://h/"}
    expect:
      status: [200, 600, 2xy]
      body_regex: "(unclosed"
      json: [{pointer: "no-slash"}, {equals: 1}]
      headers: {X-A: {equals: a, contains: b}}
)",
               {{6, 21, "invalid status '600'"},
                {6, 26, "invalid status '2xy'"},
                {7, 19, "invalid regular expression in 'body_regex'"},
                {8, 24, "JSON Pointer 'no-slash' must be empty or start with '/'"},
                {8, 37, "a 'json' expectation needs 'pointer'"},
                {9, 22, "needs exactly one of exists, equals, contains, regex"}});
}

TEST(Loader, BucketsMustIncrease) {
  ExpectErrors(R"(probes:
  - name: a
    type: http
    request: {url: "http://h/"}
    buckets: {duration: [0.1, 0.1], phase: [-1]}
)",
               {{5, 31, "strictly increasing"}, {5, 45, "positive and finite"}});
}

TEST(Loader, SecretErrorsNeverShowValues) {
  ::setenv("SLOPROBE_TEST_SET", "value-that-must-not-leak", 1);
  ::unsetenv("SLOPROBE_TEST_UNSET");
  ::unsetenv("CREDENTIALS_DIRECTORY");
  const auto r = Load(R"(secrets:
  ok: {env: SLOPROBE_TEST_SET}
  missing: {env: SLOPROBE_TEST_UNSET}
  nofile: {file: /nonexistent/secret}
  cred: {credential: api}
  both: {env: A, file: B}
probes:
  - name: a
    type: http
    request:
      url: "http://h/"
      headers: {A: "${secrets.missing}", B: "${secrets.nope}", C: "${token}", D: "${secrets.ok"}
)");
  ASSERT_FALSE(r.config);
  std::vector<Expected> expected{
      {3, 18, "environment variable 'SLOPROBE_TEST_UNSET' is not set or empty"},
      {4, 18, "cannot read '/nonexistent/secret'"},
      {5, 22, "needs $CREDENTIALS_DIRECTORY"},
      {6, 9, "needs exactly one of 'env', 'file', 'credential'"},
      {12, 45, "unknown secret 'nope'"},
      {12, 67, "unknown variable '${token}'"},
      {12, 82, "unterminated '${'"}};
  ASSERT_EQ(r.errors.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(r.errors[i].where.line, expected[i].line) << r.errors[i].ToString();
    EXPECT_EQ(r.errors[i].where.column, expected[i].column) << r.errors[i].ToString();
    EXPECT_NE(r.errors[i].message.find(expected[i].fragment), std::string::npos)
        << r.errors[i].message;
    EXPECT_EQ(r.errors[i].ToString().find("value-that-must-not-leak"), std::string::npos);
  }
}

TEST(Loader, SecretsFromFileAndCredential) {
  const auto dir = std::filesystem::temp_directory_path() / "sloprobe-loader-test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "key") << "file-secret-value\n";
  std::ofstream(dir / "api") << "credential-secret\n";
  ::setenv("CREDENTIALS_DIRECTORY", dir.c_str(), 1);
  const auto r = Load("secrets:\n  f: {file: " + (dir / "key").string() +
                      "}\n  c: {credential: api}\nprobes:\n  - name: a\n    type: http\n"
                      "    request:\n      url: \"http://h/\"\n"
                      "      basic_auth: {username: probe, password: \"${secrets.f}\"}\n"
                      "      headers: {X-C: \"${secrets.c}\"}\n");
  ::unsetenv("CREDENTIALS_DIRECTORY");
  ASSERT_TRUE(r.config) << r.errors[0].ToString();
  const auto& h = r.config->probes[0].request.headers;
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].value, "credential-secret");  // trailing newline stripped
  EXPECT_EQ(h[1].name, "Authorization");
  EXPECT_EQ(h[1].value, "Basic cHJvYmU6ZmlsZS1zZWNyZXQtdmFsdWU=");  // probe:file-secret-value
  std::filesystem::remove_all(dir);
}

// Run by hand, without $CREDENTIALS_DIRECTORY: credential sloprobe_F comes from
// the fallback directory's F, as the packaged unit's LoadCredential= maps it.
TEST(Loader, CredentialFallbackReadsWhereTheUnitLoadsFrom) {
  const auto dir = std::filesystem::temp_directory_path() / "sloprobe-fallback-test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "token") << "fallback-token-value\n";
  ::unsetenv("CREDENTIALS_DIRECTORY");
  const std::string yaml =
      "secrets:\n  t: {credential: sloprobe_token}\nprobes:\n  - name: a\n    type: http\n"
      "    request:\n      url: \"http://h/\"\n      headers: {X-T: \"${secrets.t}\"}\n";
  LoadOptions options;
  options.credential_fallback = CredentialFallback{dir.string(), "sloprobe_"};
  const auto r = LoadConfigString(yaml, kFile, options);
  ASSERT_TRUE(r.config) << r.errors[0].ToString();
  EXPECT_EQ(r.config->probes[0].request.headers[0].value, "fallback-token-value");
  EXPECT_TRUE(r.config->uses_credentials);
  EXPECT_TRUE(r.unchecked.empty());

  // The daemon takes no fallback: the same file is an error there.
  const auto strict = LoadConfigString(yaml, kFile);
  ExpectLocated(strict.errors, {{2, 19, "needs $CREDENTIALS_DIRECTORY"}});

  // Under systemd the fallback is never used, and a credential systemd did
  // not pass says that only a restart loads it.
  const auto passed = dir / "passed";
  std::filesystem::create_directories(passed);
  ::setenv("CREDENTIALS_DIRECTORY", passed.c_str(), 1);
  const auto under_systemd = LoadConfigString(yaml, kFile, options);
  ::unsetenv("CREDENTIALS_DIRECTORY");
  ExpectLocated(under_systemd.errors,
                {{2, 19, "not among those systemd passed when the service started"}});
  EXPECT_NE(under_systemd.errors[0].message.find("systemctl restart sloprobe"), std::string::npos);
  std::filesystem::remove_all(dir);
}

// `--config.check` by hand: a credential it cannot read is named, with where
// it is used, and everything else is still checked.
TEST(Loader, UnreadableCredentialsAreNamedAndTheRestChecked) {
  ::unsetenv("CREDENTIALS_DIRECTORY");
  LoadOptions options;
  options.credential_fallback = CredentialFallback{"/nonexistent/credentials", "sloprobe_"};
  options.tolerate_unreadable_credentials = true;
  const std::string secrets =
      "secrets:\n  t: {credential: sloprobe_token}\n  o: {credential: other}\n";
  const std::string probe =
      "probes:\n  - name: a\n    type: http\n    request:\n      url: \"http://h/\"\n"
      "      headers: {X-T: \"${secrets.t}\", X-O: \"${secrets.o}\"}\n";
  const auto r = LoadConfigString(secrets + probe, kFile, options);
  ASSERT_TRUE(r.config) << r.errors[0].ToString();
  ExpectLocated(r.unchecked, {{2, 19, "cannot read '/nonexistent/credentials/token'"},
                              {3, 19, "needs $CREDENTIALS_DIRECTORY"}});
  EXPECT_FALSE(r.config->uses_credentials);

  // A directory that is there but lacks the file: the service would lack the
  // credential too, so that is an error, not "unchecked".
  const auto dir = std::filesystem::temp_directory_path() / "sloprobe-unverified-test";
  std::filesystem::create_directories(dir);
  options.credential_fallback = CredentialFallback{dir.string(), "sloprobe_"};
  const auto lacking = LoadConfigString(secrets + probe, kFile, options);
  EXPECT_FALSE(lacking.config);
  ExpectLocated(lacking.errors, {{2, 19, "cannot read '" + (dir / "token").string() + "'"}});
  std::filesystem::remove_all(dir);

  // Tolerance covers credentials only: other errors still fail the load.
  const auto broken = LoadConfigString(
      secrets + "  e: {env: SLOPROBE_TEST_UNSET}\n" + probe + "    intervl: 1s\n", kFile, options);
  EXPECT_FALSE(broken.config);
  ExpectLocated(broken.errors, {{4, 12, "environment variable 'SLOPROBE_TEST_UNSET'"},
                                {11, 5, "unknown key 'intervl'"}});
}

TEST(Loader, GlobalMaxInFlightIsBounded) {
  ExpectErrors(
      "global: {max_in_flight: 1001}\nprobes:\n  - name: a\n    type: http\n"
      "    request: {url: \"http://h/\"}\n",
      {{1, 25, "'global.max_in_flight' must be between 1 and 1000"}});
  ExpectErrors(
      "global: {max_in_flight: 0}\nprobes:\n  - name: a\n    type: http\n"
      "    request: {url: \"http://h/\"}\n",
      {{1, 25, "'global.max_in_flight' must be between 1 and 1000"}});
}

TEST(Loader, SyntaxErrorIsLocated) {
  ExpectErrors("probes:\n  - name: a\n    type: [http\n", {{4, 1, "YAML syntax error"}});
}

TEST(Loader, EmptyAndMissingProbes) {
  ExpectErrors("", {{0, 0, "the file is empty"}});
  ExpectErrors("global: {interval: 1s}\n", {{1, 1, "missing 'probes'"}});
  ExpectErrors("probes: []\n", {{1, 9, "'probes' is empty"}});
}

TEST(Loader, MissingFileIsReported) {
  const auto r = LoadConfigFile("/nonexistent/sloprobe.yml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].ToString(),
            "/nonexistent/sloprobe.yml: cannot read the file: No such file or directory");
}

TEST(Loader, ShippedExamplesAreValid) {
  // platform.yml takes its secrets as the packaged unit passes them.
  const auto credentials = std::filesystem::temp_directory_path() / "sloprobe-example-creds";
  std::filesystem::create_directories(credentials);
  for (const char* name : {"sloprobe_platform_password", "sloprobe_openai_key"}) {
    std::ofstream(credentials / name) << "example-" << name << '\n';
  }
  ::setenv("CREDENTIALS_DIRECTORY", credentials.c_str(), 1);
  for (const char* name : {"demo.yml", "platform.yml", "fleet.yml"}) {
    ::setenv("PLATFORM_PASSWORD", "example-password", 1);
    ::setenv("SLOPROBE_DEMO_API_KEY", "example-api-key", 1);
    ::setenv("SLOPROBE_DEMO_LLM_KEY", "example-llm-key", 1);
    const auto path = std::string(SLOPROBE_SOURCE_DIR) + "/config/examples/" + name;
    const auto r = LoadConfigFile(path);
    EXPECT_TRUE(r.config) << path << ": "
                          << (r.errors.empty() ? std::string() : r.errors[0].ToString());
  }
  ::unsetenv("CREDENTIALS_DIRECTORY");
  std::filesystem::remove_all(credentials);
}

}  // namespace
}  // namespace sloprobe::config

namespace sloprobe::config {
namespace {

std::vector<std::string> Fingerprints(const std::string& yaml) {
  const auto r = test::Load(yaml);
  if (!r.config) throw std::runtime_error(r.errors.at(0).ToString());
  std::vector<std::string> out;
  for (const auto& p : r.config->probes) out.push_back(p.fingerprint);
  return out;
}

TEST(Loader, FingerprintIgnoresSpellingAndFollowsWhatChangesBehaviour) {
  const auto base = Fingerprints(R"(global: {interval: 10s}
probes:
  - name: a
    type: http
    request: {url: "http://h/a", method: GET}
  - name: b
    type: http
    request: {url: "http://h/b"}
)");
  // Block instead of flow style, keys reordered, comments, other lines.
  const auto respelled = Fingerprints(R"(global:
  interval: 10s   # every ten seconds
probes:

  - type: http
    name: a
    request:
      method: GET
      url: http://h/a
  - {name: b, type: http, request: {url: "http://h/b"}}
)");
  EXPECT_EQ(respelled, base);
  // A changed probe changes only its own fingerprint.
  const auto one_changed = Fingerprints(R"(global: {interval: 10s}
probes:
  - name: a
    type: http
    request: {url: "http://h/a", method: HEAD}
  - name: b
    type: http
    request: {url: "http://h/b"}
)");
  EXPECT_NE(one_changed[0], base[0]);
  EXPECT_EQ(one_changed[1], base[1]);
  // Global defaults reach every probe.
  const auto global_changed = Fingerprints(R"(global: {interval: 20s}
probes:
  - name: a
    type: http
    request: {url: "http://h/a", method: GET}
  - name: b
    type: http
    request: {url: "http://h/b"}
)");
  EXPECT_NE(global_changed[0], base[0]);
  EXPECT_NE(global_changed[1], base[1]);
}

TEST(Loader, FingerprintChangesWithTheSecretsAProbeUsesButHoldsNoValue) {
  const std::string yaml = R"(secrets:
  token: {env: SLOPROBE_FP_TOKEN}
probes:
  - name: uses
    type: http
    request:
      url: "http://h/a"
      headers: {Authorization: "Bearer ${secrets.token}"}
  - name: plain
    type: http
    request: {url: "http://h/b"}
)";
  ::setenv("SLOPROBE_FP_TOKEN", "first-secret-value-123", 1);
  const auto first = Fingerprints(yaml);
  ::setenv("SLOPROBE_FP_TOKEN", "second-secret-value-456", 1);
  const auto second = Fingerprints(yaml);
  ::unsetenv("SLOPROBE_FP_TOKEN");
  EXPECT_NE(first[0], second[0]);
  EXPECT_EQ(first[1], second[1]);
  EXPECT_EQ(first[0].find("first-secret-value-123"), std::string::npos);
  EXPECT_EQ(second[0].find("second-secret-value-456"), std::string::npos);
}

}  // namespace
}  // namespace sloprobe::config
