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

TEST(ScenarioConfig, StreamAndWebSocketStepsTakeTheirTypesKeysAndTheScenariosVariables) {
  const auto r = Load(R"yaml(probes:
  - name: s
    type: scenario
    steps:
      - name: login
        request: {method: POST, url: "http://h/login"}
        extract: {token: {json: /access_token}}
      - name: chat
        type: llm_stream
        api: anthropic
        url: "http://h/v1/messages?user=${token}"
        api_key: "${token}"
        headers: {X-Run: "${run_id}"}
        model: m
        prompt: Hi
        always: true
      - name: events
        type: websocket
        request: {url: "wss://h/ws?t=${token}", headers: {Authorization: "Bearer ${token}"}}
        websocket: {send: ping}
    objectives:
      ttft: {threshold: 1s}
      round_trip: {threshold: 200ms}
    buckets: {inter_chunk: [0.01, 0.1], round_trip: [0.05, 0.5]}
)yaml");
  ASSERT_TRUE(r.config) << r.errors.at(0).ToString();
  const auto& p = r.config->probes.at(0);
  EXPECT_TRUE(p.Runs(ProbeType::kLlmStream));
  EXPECT_TRUE(p.Runs(ProbeType::kWebSocket));
  EXPECT_TRUE(p.Runs(ProbeType::kHttp));  // the login
  ASSERT_EQ(p.steps.size(), 3u);
  const auto& chat = p.steps[1];
  EXPECT_EQ(chat.type, ProbeType::kLlmStream);
  EXPECT_TRUE(chat.always);
  EXPECT_EQ(chat.llm.api, LlmApi::kAnthropic);
  EXPECT_EQ(chat.llm.model, "m");
  EXPECT_EQ(chat.request.method, "POST");
  EXPECT_EQ(Show(chat.url), "[http://h/v1/messages?user=]${token}");
  std::vector<std::string> headers;
  for (const auto& h : chat.headers) headers.push_back(h.name + ": " + Show(h.value));
  EXPECT_EQ(headers,
            (std::vector<std::string>{
                "X-Run: ${run_id}", "x-api-key: ${token}", "anthropic-version: [2023-06-01]",
                "Content-Type: [application/json]", "Accept: [text/event-stream]"}));
  const auto& events = p.steps[2];
  EXPECT_EQ(events.type, ProbeType::kWebSocket);
  EXPECT_EQ(Show(events.url), "[wss://h/ws?t=]${token}");
  EXPECT_EQ(events.request.url.scheme(), "wss");
  EXPECT_EQ(events.websocket.send, "ping");
  ASSERT_EQ(events.headers.size(), 1u);
  EXPECT_EQ(Show(events.headers[0].value), "[Bearer ]${token}");
  EXPECT_TRUE(p.objectives.ttft);
  EXPECT_TRUE(p.objectives.round_trip);
  EXPECT_EQ(p.buckets.round_trip, (std::vector<double>{0.05, 0.5}));

  // OpenAI's key is a bearer token.
  const auto openai = Load(R"yaml(probes:
  - name: s
    type: scenario
    steps:
      - name: login
        request: {url: "http://h/login"}
        extract: {token: {json: /t}}
      - {name: chat, type: llm_stream, api: openai, url: "http://h/c", api_key: "${token}", model: m, prompt: Hi}
)yaml");
  ASSERT_TRUE(openai.config) << openai.errors.at(0).ToString();
  EXPECT_EQ(Show(openai.config->probes[0].steps[1].headers.at(0).value), "[Bearer ]${token}");
}

TEST(ScenarioConfig, StepTypeErrorsAreLocated) {
  ExpectErrors(R"yaml(probes:
  - name: s
    type: scenario
    steps:
      - name: a
        type: llm_strem
      - name: b
        type: llm_stream
        request: {url: "http://h/"}
        url: "http://h/${later}"
        model: m
        prompt: Hi
      - name: c
        type: websocket
        request: {url: "http://h/ws"}
        websocket: {send: x}
        extract: {later: {json: /x}}
      - name: d
        type: websocket
        request: {url: "ws://h/ws", method: POST}
        websocket: {send: x}
    objectives: {e2e: {threshold: 1s}}
  - name: plain
    type: scenario
    steps:
      - {name: a, request: {url: "http://h/"}}
    objectives: {ttft: {threshold: 1s}, round_trip: {threshold: 1s}}
    buckets: {e2e: [1, 2]}
)yaml",
               {{6, 15,
                 "unknown step type 'llm_strem' in step 'a' of probe 's'; did you mean "
                 "'llm_stream'?"},
                {7, 9, "missing 'api' (openai, anthropic or ollama) in step 'b'"},
                {9, 9, "unknown key 'request' in step 'b' of probe 's'"},
                {10, 14, "unknown variable '${later}' in 'url'"},
                {15, 24, "must start with ws:// or wss://"},
                {17, 9, "unknown key 'extract' in step 'c' of probe 's'"},
                {20, 45, "'method' does not apply to a WebSocket upgrade in step 'd'"},
                {27, 24, "'ttft' objectives are for type 'llm_stream' (or a scenario"},
                {27, 53, "'round_trip' objectives are for type 'websocket' (or a scenario"},
                {28, 20, "'buckets.e2e' is for type 'llm_stream' (or a scenario"}});
}

}  // namespace
}  // namespace sloprobe::config
