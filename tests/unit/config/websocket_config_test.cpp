// Loading `type: websocket`: the URL, headers and secrets of its upgrade,
// what it sends and the reply it waits for, its round-trip objective and
// buckets, and located errors.
#include <gtest/gtest.h>

#include <cstdlib>

#include "config/loader.hpp"
#include "tests/unit/config/load_helpers.hpp"

namespace sloprobe::config {
namespace {

using test::ExpectErrors;
using test::Load;

TEST(WebSocketConfig, AProbeLoadsWithItsExchangeAndObjectives) {
  setenv("SLOPROBE_TEST_WS_TOKEN", "ws-token-1", 1);
  const auto r = Load(R"yaml(secrets:
  token: {env: SLOPROBE_TEST_WS_TOKEN}
probes:
  - name: events
    type: websocket
    request:
      url: "wss://agents.example:8443/ws?stream=events"
      headers: {Authorization: "Bearer ${secrets.token}"}
      tls: {server_name: agents.example}
      body_limit: 64KiB
    websocket:
      send: '{"type":"ping","token":"${secrets.token}"}'
      messages: 5
      reply: {contains: pong, json: [{pointer: /type, equals: pong}]}
    objectives: {round_trip: {quantile: 0.99, threshold: 500ms}, error_ratio: 0.01}
    buckets: {round_trip: [0.1, 1]}
)yaml");
  ASSERT_TRUE(r.config) << r.errors.at(0).ToString();
  const auto& p = r.config->probes.at(0);
  EXPECT_EQ(p.type, ProbeType::kWebSocket);
  EXPECT_EQ(ProbeTypeName(p.type), "websocket");
  EXPECT_EQ(p.request.url.scheme_id(), boost::urls::scheme::wss);
  EXPECT_EQ(p.request.url.port_number(), 8443);
  ASSERT_EQ(p.request.headers.size(), 1u);
  EXPECT_EQ(p.request.headers[0].value, "Bearer ws-token-1");
  EXPECT_EQ(p.request.tls.server_name, "agents.example");
  EXPECT_EQ(p.request.body_limit, 64u * 1024);
  EXPECT_EQ(p.websocket.send, R"({"type":"ping","token":"ws-token-1"})");
  EXPECT_EQ(p.websocket.messages, 5);
  EXPECT_EQ(p.websocket.reply.body_contains, "pong");
  ASSERT_EQ(p.websocket.reply.json.size(), 1u);
  EXPECT_EQ(p.websocket.reply.json[0].pointer, "/type");
  ASSERT_TRUE(p.objectives.round_trip);
  EXPECT_EQ(p.objectives.round_trip->quantile, 0.99);
  EXPECT_EQ(p.objectives.round_trip->threshold, std::chrono::milliseconds(500));
  EXPECT_EQ(p.buckets.round_trip, (std::vector<double>{0.1, 1}));
  EXPECT_TRUE(r.config->redactor.Redact(p.websocket.send).find("ws-token-1") == std::string::npos);
}

TEST(WebSocketConfig, DefaultsToOneMessageAndAnyReply) {
  const auto r = Load(R"yaml(probes:
  - name: ws
    type: websocket
    request: {url: "ws://127.0.0.1:9002/ws/echo"}
    websocket: {send: hello}
)yaml");
  ASSERT_TRUE(r.config) << r.errors.at(0).ToString();
  const auto& w = r.config->probes.at(0).websocket;
  EXPECT_EQ(w.messages, 1);
  EXPECT_FALSE(w.reply.body_contains || w.reply.body_regex);
  EXPECT_TRUE(w.reply.json.empty());
}

TEST(WebSocketConfig, ErrorsAreLocated) {
  ExpectErrors(R"yaml(probes:
  - name: a
    type: websocket
    request: {url: "ws://x/", method: POST, json: {a: 1}}
    websocket: {send: hi, messages: 0, reply: {contain: x}}
  - name: b
    type: websocket
    request: {url: "ws://x/"}
  - name: c
    type: http
    request: {url: "http://x/"}
    websocket: {send: hi}
    objectives: {round_trip: {threshold: 1s}}
    buckets: {round_trip: [1]}
  - name: d
    type: websocket
    request: {url: "ws://x/"}
    websocket: {messages: 2, reply: {regex: "("}}
    objectives: {ttft: {threshold: 1s}}
)yaml",
               {{4, 39, "'method' does not apply to a WebSocket upgrade in probe 'a'"},
                {4, 51, "'json' does not apply to a WebSocket upgrade in probe 'a'"},
                {5, 37, "'messages' must be between 1 and 1000"},
                {5, 48, "did you mean 'contains'?"},
                {6, 5, "missing 'websocket' (what to send and the reply to wait for)"},
                {12, 16, "'websocket' is for type 'websocket' in probe 'c'"},
                {13, 30, "'round_trip' objectives are for type 'websocket'"},
                {14, 27, "'buckets.round_trip' is for type 'websocket'"},
                {18, 16, "missing 'send' (the message to send)"},
                {18, 45, "'reply.regex'"},
                {19, 24, "'ttft' objectives are for type 'llm_stream'"}});
}

}  // namespace
}  // namespace sloprobe::config
