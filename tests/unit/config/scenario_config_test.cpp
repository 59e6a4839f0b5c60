// Loading `type: scenario`: steps, variables, extraction, cache, cleanup.
#include <gtest/gtest.h>

#include <cstdlib>

#include "config/loader.hpp"
#include "tests/unit/config/load_helpers.hpp"

namespace sloprobe::config {
namespace {

using test::ExpectErrors;
using test::Load;

// The template's parts as "text" and "${name}" pieces, for comparing.
std::string Show(const Template& t) {
  std::string out;
  for (const auto& p : t.parts) out += p.variable ? "${" + p.text + "}" : "[" + p.text + "]";
  return out;
}

TEST(ScenarioConfig, AFullFlowLoads) {
  setenv("SLOPROBE_TEST_PW", "pa\"ss", 1);
  const auto r = Load(R"yaml(secrets:
  pw: {env: SLOPROBE_TEST_PW}
probes:
  - name: agents
    type: scenario
    timeout: 5s
    max_retry_after: 30s
    steps:
      - name: login
        request:
          method: post
          url: "http://127.0.0.1:9002/auth/login"
          json: {username: probe, password: "${secrets.pw}", n: 3}
        extract:
          token: {json: /access_token}
        cache: {ttl: 10m}
      - name: create
        request:
          method: POST
          url: "http://127.0.0.1:9002/agents"
          headers: {Authorization: "Bearer ${token}"}
          json: {name: "probe-${run_id}"}
        expect: {status: [201]}
        extract:
          id: {json: /id}
          where: {header: Location, regex: "/agents/(.+)$"}
          code: {status: true}
          word: {regex: "name\":\"([a-z]+)", group: 1}
      - name: delete
        always: true
        request:
          method: DELETE
          url: "http://127.0.0.1:9002/agents/${id}?at=${unix_ms}"
          headers: {Authorization: "Bearer ${token}"}
        expect: {status: [204]}
)yaml");
  ASSERT_TRUE(r.config) << r.errors.at(0).ToString();
  const auto& p = r.config->probes.at(0);
  EXPECT_EQ(p.type, ProbeType::kScenario);
  EXPECT_EQ(p.max_retry_after, std::chrono::seconds(30));
  ASSERT_EQ(p.steps.size(), 3u);

  const auto& login = p.steps[0];
  EXPECT_EQ(login.request.method, "POST");
  ASSERT_TRUE(login.cache);
  EXPECT_EQ(login.cache->ttl, std::chrono::minutes(10));
  EXPECT_EQ(login.cache->expires_in, "/expires_in");
  // The secret is resolved at load and JSON-escaped as literal text.
  EXPECT_EQ(Show(login.body), R"([{"username":"probe","password":"pa\"ss","n":3}])");
  ASSERT_EQ(login.headers.size(), 1u);
  EXPECT_EQ(login.headers[0].name, "Content-Type");
  ASSERT_EQ(login.extract.size(), 1u);
  EXPECT_EQ(login.extract[0].source, Extraction::Source::kJson);

  const auto& create = p.steps[1];
  EXPECT_EQ(Show(create.headers[0].value), "[Bearer ]${token}");
  EXPECT_EQ(create.headers[0].value.parts[1].escape, Template::Escape::kNone);
  EXPECT_EQ(Show(create.body), R"([{"name":"probe-]${run_id}["}])");
  EXPECT_EQ(create.body.parts[1].escape, Template::Escape::kJson);
  ASSERT_EQ(create.extract.size(), 4u);
  EXPECT_EQ(create.extract[1].source, Extraction::Source::kHeader);
  EXPECT_EQ(create.extract[1].group, 1);
  EXPECT_EQ(create.extract[2].source, Extraction::Source::kStatus);
  EXPECT_EQ(create.extract[3].source, Extraction::Source::kBody);

  const auto& del = p.steps[2];
  EXPECT_TRUE(del.always);
  EXPECT_EQ(Show(del.url), "[http://127.0.0.1:9002/agents/]${id}[?at=]${unix_ms}");
  EXPECT_EQ(del.url.parts[1].escape, Template::Escape::kUrl);
  // The URL's shape was checked with placeholders; its scheme is known.
  EXPECT_EQ(del.request.url.scheme_id(), boost::urls::scheme::http);
  // Declared secrets are known to the redactor.
  EXPECT_EQ(r.config->redactor.Redact("pa\"ss"), "<redacted>");
}

TEST(ScenarioConfig, ALeadingVariableIsAWholeBaseUrl) {
  const auto r = Load(R"yaml(probes:
  - name: s
    type: scenario
    steps:
      - name: a
        request: {url: "http://h/start"}
        extract: {next: {header: Location}}
      - name: b
        request: {url: "${next}/more"}
)yaml");
  ASSERT_TRUE(r.config) << r.errors.at(0).ToString();
  const auto& b = r.config->probes[0].steps[1];
  EXPECT_EQ(Show(b.url), "${next}[/more]");
  EXPECT_EQ(b.url.parts[0].escape, Template::Escape::kNone);
}

TEST(ScenarioConfig, FormBodiesAreEncoded) {
  setenv("SLOPROBE_TEST_SECRET", "s&cr=t +", 1);
  const auto r = Load(R"yaml(secrets:
  s: {env: SLOPROBE_TEST_SECRET}
probes:
  - name: token
    type: http
    request:
      method: POST
      url: "http://h/oauth/token"
      form: {grant_type: client_credentials, client_secret: "${secrets.s}", "a b": "c/d"}
)yaml");
  ASSERT_TRUE(r.config) << r.errors.at(0).ToString();
  const auto& req = r.config->probes[0].request;
  EXPECT_EQ(req.body, "grant_type=client_credentials&client_secret=s%26cr%3Dt+%2B&a+b=c%2Fd");
  ASSERT_EQ(req.headers.size(), 1u);
  EXPECT_EQ(req.headers[0].value, "application/x-www-form-urlencoded");
}

TEST(ScenarioConfig, VariableErrorsSayWhereTheVariableComesFrom) {
  ExpectErrors(R"yaml(probes:
  - name: s
    type: scenario
    steps:
      - name: login
        request: {url: "http://h/login", headers: {X: "${token}"}}
        extract: {token: {json: /t}}
      - name: list
        request: {url: "http://h/agents", headers: {A: "${tokn}", B: "${id}", C: "${uuid}"}}
      - name: create
        request: {url: "http://h/agents"}
        extract: {id: {json: /id}}
)yaml",
               {{6, 55,
                 "variable '${token}' in header 'X' is set by step 'login', which has "
                 "not run yet"},
                {9, 56,
                 "unknown variable '${tokn}' in header 'A' (variables come from 'extract' "
                 "of an earlier step, or are one of uuid, unix_ms, run_id); did you mean "
                 "'token'?"},
                {9, 70, "set by step 'create', which has not run yet"}});
}

TEST(ScenarioConfig, HttpProbesAndBasicAuthTakeOnlySecrets) {
  ExpectErrors(R"yaml(probes:
  - name: h
    type: http
    request: {url: "http://h/${uuid}"}
  - name: s
    type: scenario
    steps:
      - name: a
        request:
          url: "http://h/"
          basic_auth: {username: u, password: "${uuid}"}
)yaml",
               {{4, 20, "only ${secrets.NAME} can be used here"},
                {11, 47, "only ${secrets.NAME} can be used here"}});
}

TEST(ScenarioConfig, StructureErrors) {
  ExpectErrors(R"yaml(probes:
  - name: s
    type: scenario
    request: {url: "http://h/"}
    steps:
      - name: login
        request: {url: "http://h/"}
        cache: {ttl: 1m}
        always: true
      - name: login
        request: {url: "ftp://h/${uuid}"}
        cache: {ttl: 1m}
        extract:
          uuid: {json: /x}
          "9x": {json: /x}
          a: {json: x}
          b: {json: /x, header: Y}
          c: {header: Y, group: 1}
          d: {regex: "a(b)", group: 2}
          e: {json: /x, regex: "x"}
          f: {status: false}
      - request: {url: "http://h/"}
        alwys: true
  - name: h
    type: http
    request: {url: "http://h/"}
    steps: []
  - name: empty
    type: scenario
)yaml",
               {{4, 14, "'request' belongs in each step of a scenario"},
                {8, 16, "a cached step cannot also be 'always'"},
                {10, 15, "duplicate step name 'login'"},
                {11, 24, "must start with http:// or https://"},
                {12, 16, "only one step of a scenario can be cached"},
                {14, 11, "'uuid' is a built-in name"},
                {15, 11, "invalid variable name '9x'"},
                {16, 21, "JSON Pointer 'x' must be empty or start with '/'"},
                {17, 14, "needs exactly one of 'json', 'header', 'status'"},
                {18, 33, "'group' needs a 'regex'"},
                {19, 37, "'group' 2 does not exist: the regex has 1 capture group(s)"},
                {20, 14, "'regex' and 'group' apply to 'header' or the body"},
                {21, 23, "'status: false' extracts nothing"},
                {22, 9, "step #3 of probe 's' has no 'name'"},
                {23, 9, "unknown key 'alwys' in step '#3' of probe 's'; did you mean 'always'?"},
                {27, 12, "'steps' is for type 'scenario'"},
                {28, 5, "missing 'steps' in probe 'empty'"}});
}

}  // namespace
}  // namespace sloprobe::config
