// Loading `type: llm_stream`: the request it builds (URL, auth headers per
// API), the prompt, limits, objectives and buckets, and located errors.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <cstdlib>

#include "config/loader.hpp"
#include "probes/llm_stream/wire.hpp"
#include "tests/unit/config/load_helpers.hpp"

namespace sloprobe::config {
namespace {

using test::ExpectErrors;
using test::Load;

std::string HeaderValue(const HttpRequest& r, std::string_view name) {
  for (const auto& h : r.headers) {
    if (h.name == name) return h.value;
  }
  return "<absent>";
}

TEST(LlmConfig, AnOpenAiProbeLoadsWithItsKeyAsABearerToken) {
  setenv("SLOPROBE_TEST_OPENAI_KEY", "sk-abc123", 1);
  const auto r = Load(R"yaml(secrets:
  openai_key: {env: SLOPROBE_TEST_OPENAI_KEY}
probes:
  - name: chat
    type: llm_stream
    api: openai
    url: "http://127.0.0.1:8000/v1/chat/completions"
    api_key: "${secrets.openai_key}"
    model: my-model
    prompt: "Reply with one short sentence."
    max_tokens: 32
    temperature: 0.2
    nonce: true
    extra_body: {top_p: 0.9, seed: 7}
    objectives: {ttft: {quantile: 0.95, threshold: 500ms}, inter_chunk: {threshold: 100ms},
                 e2e: {threshold: 5s}, error_ratio: 0.05}
    buckets: {ttft: [0.1, 0.5, 1], inter_chunk: [0.01, 0.1], e2e: [1, 5]}
)yaml");
  ASSERT_TRUE(r.config) << r.errors.at(0).ToString();
  const auto& p = r.config->probes.at(0);
  EXPECT_EQ(p.type, ProbeType::kLlmStream);
  EXPECT_EQ(p.llm.api, LlmApi::kOpenAi);
  EXPECT_EQ(p.llm.model, "my-model");
  ASSERT_EQ(p.llm.messages.size(), 1u);
  EXPECT_EQ(p.llm.messages[0].role, "user");
  EXPECT_EQ(p.llm.max_tokens, 32);
  EXPECT_EQ(p.llm.temperature, 0.2);
  EXPECT_TRUE(p.llm.nonce);
  EXPECT_TRUE(p.llm.include_usage);
  EXPECT_EQ(p.request.method, "POST");
  EXPECT_EQ(p.request.body_limit, 16u << 20);
  EXPECT_EQ(HeaderValue(p.request, "Authorization"), "Bearer sk-abc123");
  EXPECT_EQ(HeaderValue(p.request, "Accept"), "text/event-stream");
  EXPECT_EQ(HeaderValue(p.request, "Content-Type"), "application/json");
  EXPECT_EQ(p.objectives.ttft->threshold, std::chrono::milliseconds(500));
  EXPECT_EQ(p.objectives.inter_chunk->quantile, 0.95);  // the default
  EXPECT_EQ(p.objectives.e2e->threshold, std::chrono::seconds(5));
  EXPECT_EQ(p.buckets.inter_chunk, (std::vector<double>{0.01, 0.1}));
  // The key is a secret wherever it came from.
  EXPECT_EQ(r.config->redactor.Redact("key sk-abc123"), "key <redacted>");

  const auto body = boost::json::parse(probes::BuildLlmBody(p.llm, "n0nce"));
  EXPECT_EQ(body.at("model"), "my-model");
  EXPECT_EQ(body.at("stream"), true);
  EXPECT_EQ(body.at("max_tokens"), 32);
  EXPECT_EQ(body.at("stream_options").at("include_usage"), true);
  EXPECT_EQ(body.at("top_p"), 0.9);
  EXPECT_EQ(body.at("messages").at(0).at("content"), "[n0nce] Reply with one short sentence.");
}

TEST(LlmConfig, AnthropicGetsItsHeadersAndATopLevelSystemPrompt) {
  const auto r = Load(R"yaml(probes:
  - name: claude
    type: llm_stream
    api: anthropic
    url: "https://api.anthropic.example/v1/messages"
    api_key: sk-ant-literal
    model: claude-x
    messages:
      - {role: system, content: "Be brief."}
      - {role: user, content: "Hi"}
)yaml");
  ASSERT_TRUE(r.config) << r.errors.at(0).ToString();
  const auto& p = r.config->probes.at(0);
  EXPECT_EQ(HeaderValue(p.request, "x-api-key"), "sk-ant-literal");
  EXPECT_EQ(HeaderValue(p.request, "anthropic-version"), "2023-06-01");
  EXPECT_EQ(HeaderValue(p.request, "Authorization"), "<absent>");
  EXPECT_EQ(r.config->redactor.Redact("sk-ant-literal"), "<redacted>");
  const auto body = boost::json::parse(probes::BuildLlmBody(p.llm, ""));
  EXPECT_EQ(body.at("system"), "Be brief.");
  EXPECT_EQ(body.at("messages").as_array().size(), 1u);
  EXPECT_EQ(body.at("max_tokens"), 64);  // the default: a probe bounds its cost
  EXPECT_FALSE(body.as_object().contains("stream_options"));
}

TEST(LlmConfig, OllamaTakesItsLimitsAsOptions) {
  const auto r = Load(R"yaml(probes:
  - name: local
    type: llm_stream
    api: ollama
    url: "http://127.0.0.1:11434/api/chat"
    model: llama3
    prompt: Hi
    max_tokens: 10
    temperature: 0
)yaml");
  ASSERT_TRUE(r.config) << r.errors.at(0).ToString();
  const auto& p = r.config->probes.at(0);
  EXPECT_EQ(HeaderValue(p.request, "Accept"), "application/x-ndjson");
  const auto body = boost::json::parse(probes::BuildLlmBody(p.llm, ""));
  EXPECT_EQ(body.at("options").at("num_predict"), 10);
  EXPECT_EQ(body.at("options").at("temperature"), 0.0);
  EXPECT_FALSE(body.as_object().contains("max_tokens"));
}

TEST(LlmConfig, MistakesAreLocated) {
  ExpectErrors(R"yaml(probes:
  - name: chat
    type: llm_stream
    api: opneai
    url: "ftp://x/"
    model: ""
    prompt: Hi
    messages: [{role: user, content: Hi}]
    max_tokens: 0
    temperature: 3
    extra_body: {stream: false}
    objectives: {ttft: {threshold: 20s}}
)yaml",
               {{4, 10, "unknown api 'opneai' in probe 'chat'; did you mean 'openai'?"},
                {5, 10, "URL 'ftp://x/' must start with http:// or https://"},
                {6, 12, "'model' must not be empty"},
                {8, 15, "'prompt' and 'messages' exclude each other"},
                {9, 17, "'max_tokens' must be between 1 and 1000000"},
                {10, 18, "'temperature' must be between 0 and 2"},
                {11, 17, "'extra_body' must not set 'stream'"},
                {12, 24, "ttft threshold 20s is longer than the timeout 10s"}});
}

TEST(LlmConfig, KeysOfOneTypeAreRejectedOnAnother) {
  ExpectErrors(R"yaml(probes:
  - name: h
    type: http
    request: {url: "http://x/"}
    model: m
    objectives: {ttft: {threshold: 1s}}
  - name: c
    type: llm_stream
    api: ollama
    url: "http://x/api/chat"
    model: m
    prompt: Hi
    include_usage: false
    request: {url: "http://x/"}
    messages_typo: 1
)yaml",
               {{5, 12, "'model' is for type 'llm_stream' in probe 'h'"},
                {6, 24, "'ttft' objectives are for type 'llm_stream'"},
                {13, 20, "'include_usage' is for api 'openai'"},
                {14, 14, "'request' is not used by type 'llm_stream'"},
                {15, 5, "unknown key 'messages_typo' in probe 'c'"}});
}

TEST(LlmConfig, MissingEssentialsAreNamed) {
  ExpectErrors(R"yaml(probes:
  - name: c
    type: llm_stream
    messages: [{role: robot, content: Hi}, {role: user}]
)yaml",
               {{2, 5, "missing 'api'"},
                {2, 5, "missing 'url'"},
                {2, 5, "missing 'model'"},
                {4, 23, "invalid role 'robot'"},
                {4, 44, "a message needs 'role' and 'content'"}});
}

TEST(LlmConfig, AKeyHeaderSetTwiceIsAnError) {
  ExpectErrors(R"yaml(probes:
  - name: c
    type: llm_stream
    api: openai
    url: "http://x/v1/chat/completions"
    model: m
    prompt: Hi
    headers: {Authorization: "Bearer other"}
    api_key: k
)yaml",
               {{9, 14, "header 'Authorization' is set both by 'api_key' and in 'headers'"}});
}

}  // namespace
}  // namespace sloprobe::config
