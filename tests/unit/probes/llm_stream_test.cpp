// Which chunks of each LLM dialect are tokens, usage and end markers, and
// the timings a stream adds up to (definitions: docs/metrics.md, "LLM streams").
#include <gtest/gtest.h>

#include "probes/llm_stream/wire.hpp"

namespace sloprobe::probes {
namespace {

using namespace std::chrono_literals;

bool Token(LlmApi api, std::string_view data, std::string_view type = "message") {
  const auto item = InterpretChunk(api, type, data);
  EXPECT_FALSE(item.malformed) << data;
  return item.token;
}

TEST(LlmChunks, OpenAiTokensAreNonEmptyDeltas) {
  constexpr auto kApi = LlmApi::kOpenAi;
  EXPECT_TRUE(Token(kApi, R"({"choices":[{"delta":{"content":"Hi"}}]})"));
  EXPECT_TRUE(Token(kApi, R"({"choices":[{"delta":{"reasoning_content":"hmm"}}]})"));
  EXPECT_TRUE(Token(kApi, R"({"choices":[{"delta":{"reasoning":"hmm"}}]})"));
  EXPECT_TRUE(Token(kApi, R"({"choices":[{"delta":{"tool_calls":[{"index":0}]}}]})"));
  // Role-only, empty, finish-only and usage chunks are not tokens.
  EXPECT_FALSE(Token(kApi, R"({"choices":[{"delta":{"role":"assistant"}}]})"));
  EXPECT_FALSE(Token(kApi, R"({"choices":[{"delta":{"content":""}}]})"));
  EXPECT_FALSE(Token(kApi, R"({"choices":[{"delta":{},"finish_reason":"stop"}]})"));
  EXPECT_FALSE(Token(kApi, R"({"choices":[{"delta":{"tool_calls":[]}}]})"));
  const auto usage = InterpretChunk(
      kApi, "message", R"({"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":34}})");
  EXPECT_FALSE(usage.token);
  EXPECT_EQ(usage.output_tokens, 34u);
  EXPECT_EQ(usage.input_tokens, 12u);
  EXPECT_TRUE(InterpretChunk(kApi, "message", "[DONE]").terminal);
  const auto error =
      InterpretChunk(kApi, "message", R"({"error":{"message":"overloaded","type":"server"}})");
  EXPECT_TRUE(error.error);
  EXPECT_EQ(error.error_detail, "overloaded");
  EXPECT_TRUE(InterpretChunk(kApi, "message", "{\"choices\":[").malformed);
  EXPECT_TRUE(InterpretChunk(kApi, "message", "[1,2]").malformed);
}

TEST(LlmChunks, AnthropicTokensAreContentBlockDeltas) {
  constexpr auto kApi = LlmApi::kAnthropic;
  EXPECT_TRUE(
      Token(kApi, R"({"type":"content_block_delta","delta":{"type":"text_delta","text":"Hi"}})"));
  EXPECT_TRUE(Token(kApi, R"({"type":"content_block_delta","delta":{"thinking":"hmm"}})"));
  EXPECT_TRUE(Token(kApi, R"({"type":"content_block_delta","delta":{"partial_json":"{\""}})"));
  EXPECT_FALSE(Token(kApi, R"({"type":"content_block_delta","delta":{"text":""}})"));
  EXPECT_FALSE(Token(kApi, R"({"type": "ping"})", "ping"));
  EXPECT_FALSE(Token(kApi, R"({"type":"content_block_start","content_block":{"text":""}})"));
  // The SSE event type stands in when the data has none.
  EXPECT_TRUE(Token(kApi, R"({"delta":{"text":"x"}})", "content_block_delta"));
  const auto start = InterpretChunk(
      kApi, "message_start",
      R"({"type":"message_start","message":{"usage":{"input_tokens":25,"output_tokens":1}}})");
  EXPECT_EQ(start.input_tokens, 25u);
  EXPECT_EQ(start.output_tokens, 1u);
  const auto delta = InterpretChunk(kApi, "message_delta",
                                    R"({"type":"message_delta","usage":{"output_tokens":15}})");
  EXPECT_EQ(delta.output_tokens, 15u);
  EXPECT_TRUE(InterpretChunk(kApi, "message_stop", R"({"type":"message_stop"})").terminal);
  const auto error = InterpretChunk(
      kApi, "error",
      R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})");
  EXPECT_TRUE(error.error);
  EXPECT_EQ(error.error_detail, "Overloaded");
}

TEST(LlmChunks, OllamaTokensAreMessageContent) {
  constexpr auto kApi = LlmApi::kOllama;
  EXPECT_TRUE(Token(kApi, R"({"message":{"role":"assistant","content":"Hi"},"done":false})"));
  EXPECT_TRUE(Token(kApi, R"({"message":{"thinking":"hmm"},"done":false})"));
  EXPECT_FALSE(Token(kApi, R"({"message":{"content":""},"done":false})"));
  const auto done = InterpretChunk(
      kApi, "", R"({"message":{"content":""},"done":true,"eval_count":7,"prompt_eval_count":3})");
  EXPECT_TRUE(done.terminal);
  EXPECT_FALSE(done.token);
  EXPECT_EQ(done.output_tokens, 7u);
  EXPECT_EQ(done.input_tokens, 3u);
  const auto error = InterpretChunk(kApi, "", R"({"error":"model 'x' not found"})");
  EXPECT_TRUE(error.error);
  EXPECT_EQ(error.error_detail, "model 'x' not found");
}

StreamItem TokenItem() {
  StreamItem i;
  i.token = true;
  return i;
}

StreamItem Terminal(std::optional<std::uint64_t> output = std::nullopt) {
  StreamItem i;
  i.terminal = true;
  i.output_tokens = output;
  return i;
}

TEST(StreamTimer, TimingsFollowTheDefinitions) {
  const StreamTimer::Clock::time_point t0{};
  StreamTimer timer(t0);
  timer.FirstByte(t0 + 40ms);
  timer.Add(StreamItem{}, t0 + 40ms);  // role-only chunk: no token
  timer.Add(TokenItem(), t0 + 100ms);
  timer.Add(TokenItem(), t0 + 130ms);
  timer.Add(TokenItem(), t0 + 130ms);  // same read: a gap of 0 is honest
  timer.Add(TokenItem(), t0 + 190ms);
  timer.Add(Terminal(9), t0 + 200ms);
  timer.End(t0 + 200ms);
  const auto s = timer.Finish();
  EXPECT_EQ(s.reason, Reason::kOk);
  EXPECT_EQ(s.ttfb, 40ms);
  EXPECT_EQ(s.ttft, 100ms);
  EXPECT_EQ(s.gaps, (std::vector<StreamTimer::Duration>{30ms, 0ms, 60ms}));
  EXPECT_EQ(s.e2e, 190ms);
  EXPECT_EQ(s.stream, 200ms);
  EXPECT_EQ(s.output_tokens, 9u);
  EXPECT_FALSE(s.output_tokens_approximate);
  EXPECT_EQ(s.tpot, StreamTimer::Duration(90ms) / 8);  // (e2e - ttft) / (tokens - 1)
  EXPECT_EQ(s.token_items, 4u);
}

TEST(StreamTimer, WithoutUsageTokenChunksAreCountedAndSaidToBeApproximate) {
  const StreamTimer::Clock::time_point t0{};
  StreamTimer timer(t0);
  timer.Add(TokenItem(), t0 + 10ms);
  timer.Add(TokenItem(), t0 + 20ms);
  timer.Add(Terminal(), t0 + 20ms);
  const auto s = timer.Finish();
  EXPECT_EQ(s.output_tokens, 2u);
  EXPECT_TRUE(s.output_tokens_approximate);
  EXPECT_EQ(s.tpot, 10ms);
}

TEST(StreamTimer, FailuresInOrderOfPrecedence) {
  const StreamTimer::Clock::time_point t0{};
  {
    StreamTimer timer(t0);  // tokens, then EOF without the end marker
    timer.Add(TokenItem(), t0 + 1ms);
    const auto s = timer.Finish();
    EXPECT_EQ(s.reason, Reason::kTruncated);
    EXPECT_NE(s.detail.find("after 1 token chunk(s)"), std::string::npos);
  }
  {
    StreamTimer timer(t0);  // an end marker and nothing before it
    timer.Add(Terminal(), t0 + 1ms);
    const auto s = timer.Finish();
    EXPECT_EQ(s.reason, Reason::kNoTokens);
    EXPECT_FALSE(s.ttft);
    EXPECT_FALSE(s.tpot);
  }
  {
    StreamTimer timer(t0);  // an error event beats everything
    StreamItem error;
    error.error = true;
    error.error_detail = "Overloaded";
    timer.Add(TokenItem(), t0 + 1ms);
    timer.Add(error, t0 + 2ms);
    StreamItem bad;
    bad.malformed = true;
    timer.Add(bad, t0 + 3ms);
    const auto s = timer.Finish();
    EXPECT_EQ(s.reason, Reason::kStreamError);
    EXPECT_EQ(s.detail, "error in the stream: Overloaded");
  }
  {
    StreamTimer timer(t0);
    StreamItem bad;
    bad.malformed = true;
    timer.Add(bad, t0 + 1ms);
    timer.Add(Terminal(), t0 + 2ms);
    EXPECT_EQ(timer.Finish().reason, Reason::kProtocol);
  }
}

// A whole stream of each dialect, decoded with the stream split into two
// reads at every byte offset: the same outcome every time, and the read
// holding the end marker is the last one wanted.
TEST(StreamDecoder, EveryDialectWhateverTheSplit) {
  const std::pair<LlmApi, std::string> streams[] = {
      {LlmApi::kOpenAi,
       "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\r\n\r\n"
       ": keep-alive\r\n\r\n"
       "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\r\n\r\n"
       "data: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\r\n\r\n"
       "data: {\"choices\":[],\"usage\":{\"completion_tokens\":3,\"prompt_tokens\":4}}\r\n\r\n"
       "data: [DONE]\r\n\r\n"},
      {LlmApi::kAnthropic,
       "event: message_start\rdata: {\"type\":\"message_start\",\"message\":{\"usage\":"
       "{\"input_tokens\":4,\"output_tokens\":1}}}\r\r"
       "event: content_block_delta\rdata: {\"type\":\"content_block_delta\",\"delta\":"
       "{\"text\":\"Hel\"}}\r\r"
       "event: ping\rdata: {\"type\":\"ping\"}\r\r"
       "event: content_block_delta\rdata: {\"type\":\"content_block_delta\",\"delta\":"
       "{\"text\":\"lo\"}}\r\r"
       "event: message_delta\rdata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":3}}"
       "\r\r"
       "event: message_stop\rdata: {\"type\":\"message_stop\"}\r\r"},
      {LlmApi::kOllama,
       "{\"message\":{\"content\":\"Hel\"},\"done\":false}\n"
       "{\"message\":{\"content\":\"lo\"},\"done\":false}\n"
       "{\"message\":{\"content\":\"\"},\"done\":true,\"eval_count\":3,\"prompt_eval_count\":4}\n"},
  };
  const StreamTimer::Clock::time_point t0{};
  for (const auto& [api, text] : streams) {
    // The end marker is dispatched by the first character of the break that
    // ends its event: a CRLF's LF may come after.
    const std::size_t dispatch = text.size() - (text.ends_with("\r\n") ? 1 : 0);
    for (std::size_t cut = 0; cut <= text.size(); ++cut) {
      StreamTimer timer(t0);
      StreamDecoder decoder(api, timer);
      const bool more = decoder.Feed(std::string_view(text).substr(0, cut), t0 + 1ms);
      EXPECT_EQ(more, cut < dispatch) << LlmApiName(api) << " cut at " << cut;
      if (more) {
        EXPECT_FALSE(decoder.Feed(std::string_view(text).substr(cut), t0 + 2ms));
      }
      const auto s = timer.Finish();
      ASSERT_EQ(s.reason, Reason::kOk) << LlmApiName(api) << " cut at " << cut << ": " << s.detail;
      EXPECT_EQ(s.token_items, 2u);
      EXPECT_EQ(s.output_tokens, 3u);
      EXPECT_EQ(s.input_tokens, 4u);
      EXPECT_EQ(s.gaps.size(), 1u);
      EXPECT_EQ(s.stream, cut < dispatch ? 2ms : 1ms);
    }
  }
}

TEST(StreamDecoder, AKeyInAnErrorMessageIsScrubbedBeforeItIsShortened) {
  // Long enough that a message quoting it would be cut inside it.
  const std::string key = "sk-" + std::string(90, 'k');
  config::Redactor scrub;
  scrub.Add(key);
  StreamTimer timer({});
  StreamDecoder decoder(LlmApi::kOpenAi, timer, &scrub);
  decoder.Feed("data: {\"error\":{\"message\":\"Incorrect API key provided: " + key + "\"}}\n\n",
               {});
  const auto s = timer.Finish();
  EXPECT_EQ(s.reason, Reason::kStreamError);
  EXPECT_NE(s.detail.find("<redacted>"), std::string::npos) << s.detail;
  EXPECT_EQ(s.detail.find("sk-kkkk"), std::string::npos) << s.detail;
}

TEST(StreamDecoder, StopsAtAnErrorEvent) {
  StreamTimer timer({});
  StreamDecoder decoder(LlmApi::kOpenAi, timer);
  EXPECT_TRUE(decoder.Feed("data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n", {}));
  EXPECT_FALSE(decoder.Feed("data: {\"error\":{\"message\":\"boom\"}}\n\n", {}));
  EXPECT_EQ(timer.Finish().reason, Reason::kStreamError);
}

}  // namespace
}  // namespace sloprobe::probes
