// LLM streaming probes against the testbed's fake OpenAI, Anthropic and
// Ollama endpoints: timings checked against the delays the testbed injected
// and the times it recorded writing each token chunk, and every failure
// mode.
#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "tests/integration/harness.hpp"

namespace sloprobe::test {
namespace {

using namespace std::chrono_literals;
using probes::Duration;
using probes::Reason;
using Families = std::vector<prometheus::MetricFamily>;

// On loopback a measured time exceeds the server's by the request's and
// the chunk's trip through the kernel and a wake-up: tens of microseconds
// on an idle machine. The bound leaves room for a loaded CI runner and
// sanitizers without letting a wrong clock (a read stamped late, a
// coalesced chunk) through.
#ifdef SLOPROBE_SANITIZED
constexpr Duration kSlack = 20ms;
#else
constexpr Duration kSlack = 5ms;
#endif

struct Endpoint {
  const char* api;
  const char* path;
};
constexpr Endpoint kEndpoints[] = {
    {"openai", "/v1/chat/completions"}, {"anthropic", "/v1/messages"}, {"ollama", "/api/chat"}};

std::string Probe(const TestbedServer& bed, const Endpoint& e, const std::string& extra = "") {
  return std::string("name: chat\ntype: llm_stream\ntimeout: 3s\napi: ") + e.api + "\nurl: \"" +
         bed.Url(e.path) + "\"\nmodel: test-model\nprompt: Reply with one short sentence.\n" +
         extra;
}

testbed::StreamSpec Spec(Duration first_token, Duration gap, int chunks) {
  testbed::StreamSpec spec;
  spec.first_token = first_token;
  spec.gap = gap;
  spec.chunks = chunks;
  return spec;
}

class LlmStream : public ::testing::TestWithParam<Endpoint> {};

TEST_P(LlmStream, TimingsMatchWhatTheServerInjectedAndWrote) {
  TestbedServer bed;
  auto spec = Spec(30ms, 8ms, 6);
  spec.ttfb = 15ms;
  spec.gap_random = 6ms;
  bed.Bed().SetStream(spec);
  const auto result = RunOnce(ProbeFromYaml(Probe(bed, GetParam())));
  ASSERT_TRUE(result.Ok()) << Why(result);
  ASSERT_TRUE(result.stream);
  const auto& s = *result.stream;
  const auto rec = LastRecord(bed, GetParam().path);
  ASSERT_EQ(rec.token_written.size(), 6u);
  ASSERT_EQ(rec.injected_gaps.size(), 5u);
  EXPECT_EQ(rec.injected_first_token, 30ms);

  // TTFB: at least the injected wait, at most the server's own time plus slack.
  ASSERT_TRUE(s.ttfb);
  EXPECT_GE(*s.ttfb, 15ms);
  EXPECT_LE(*s.ttfb, rec.actual + kSlack);
  // TTFT: after the server wrote the first token chunk, by little.
  ASSERT_TRUE(s.ttft);
  EXPECT_GE(*s.ttft, 45ms);
  EXPECT_GE(*s.ttft, rec.token_written[0]);
  EXPECT_LE(*s.ttft, rec.token_written[0] + kSlack);
  // The server schedules chunks from the headers on (a late write shortens
  // the next gap), so each write is at least the waits injected so far
  // after the headers.
  Duration injected = rec.injected_first_token;
  for (std::size_t i = 0; i < rec.token_written.size(); ++i) {
    if (i > 0) injected += rec.injected_gaps[i - 1];
    EXPECT_GE(rec.token_written[i], rec.actual + injected) << "chunk " << i;
  }
  // One gap per pair of token chunks, each close to the server's.
  ASSERT_EQ(s.gaps.size(), 5u);
  for (std::size_t i = 0; i < s.gaps.size(); ++i) {
    const auto truth = rec.token_written[i + 1] - rec.token_written[i];
    EXPECT_LE(std::chrono::abs(s.gaps[i] - truth), kSlack) << "gap " << i;
  }
  ASSERT_TRUE(s.e2e);
  EXPECT_GE(*s.e2e, rec.token_written.back());
  EXPECT_LE(*s.e2e, rec.token_written.back() + kSlack);
  ASSERT_TRUE(s.stream);
  EXPECT_GE(*s.stream, *s.e2e);
  EXPECT_EQ(s.token_items, 6u);
  EXPECT_EQ(s.output_tokens, 6u);
  EXPECT_FALSE(s.output_tokens_approximate);
  ASSERT_TRUE(s.tpot);
  EXPECT_EQ(*s.tpot, (*s.e2e - *s.ttft) / 5);
  ASSERT_TRUE(s.input_tokens);
  EXPECT_EQ(*s.input_tokens, 5u);  // the testbed counts prompt words
}

TEST_P(LlmStream, SeveralTokensPerChunkAreCountedFromUsage) {
  TestbedServer bed;
  auto spec = Spec(1ms, 1ms, 4);
  spec.tokens_per_chunk = 3;
  bed.Bed().SetStream(spec);
  const auto result = RunOnce(ProbeFromYaml(Probe(bed, GetParam())));
  ASSERT_TRUE(result.Ok()) << Why(result);
  EXPECT_EQ(result.stream->token_items, 4u);
  EXPECT_EQ(result.stream->output_tokens, 12u);
  EXPECT_FALSE(result.stream->output_tokens_approximate);
}

TEST_P(LlmStream, LineEndingsCommentsAndPingsChangeNothing) {
  for (const char* ending : {"\r\n", "\r", "\n"}) {
    TestbedServer bed;
    auto spec = Spec(1ms, 2ms, 5);
    spec.line_ending = ending;
    spec.comments = true;
    spec.ping_every = 2;
    bed.Bed().SetStream(spec);
    const auto result = RunOnce(ProbeFromYaml(Probe(bed, GetParam())));
    ASSERT_TRUE(result.Ok()) << Why(result);
    EXPECT_EQ(result.stream->token_items, 5u);
    EXPECT_EQ(result.stream->gaps.size(), 4u);
  }
}

TEST_P(LlmStream, MaxTokensLimitsTheStream) {
  TestbedServer bed;
  bed.Bed().SetStream(Spec(1ms, 1ms, 50));
  const auto result = RunOnce(ProbeFromYaml(Probe(bed, GetParam(), "max_tokens: 7\n")));
  ASSERT_TRUE(result.Ok()) << Why(result);
  EXPECT_EQ(result.stream->token_items, 7u);
}

TEST_P(LlmStream, AnErrorEventInsideTheStreamIsAStreamError) {
  TestbedServer bed;
  auto spec = Spec(1ms, 1ms, 6);
  spec.error_after = 2;
  bed.Bed().SetStream(spec);
  const auto result = RunOnce(ProbeFromYaml(Probe(bed, GetParam())));
  EXPECT_EQ(result.reason, Reason::kStreamError) << Why(result);
  EXPECT_NE(result.detail.find("error in the stream"), std::string::npos) << result.detail;
  EXPECT_EQ(result.step, "request");
  ASSERT_TRUE(result.stream);
  EXPECT_EQ(result.stream->token_items, 2u);  // the tokens before it were timed
}

TEST_P(LlmStream, ADroppedConnectionIsTruncated) {
  for (const bool chunked : {true, false}) {
    TestbedServer bed;
    auto spec = Spec(1ms, 1ms, 6);
    spec.truncate_after = 3;
    spec.chunked = chunked;
    bed.Bed().SetStream(spec);
    const auto result = RunOnce(ProbeFromYaml(Probe(bed, GetParam())));
    EXPECT_EQ(result.reason, Reason::kTruncated) << Why(result) << " chunked=" << chunked;
    ASSERT_TRUE(result.stream);
    EXPECT_EQ(result.stream->token_items, 3u);
  }
}

TEST_P(LlmStream, AStreamWithoutATokenIsNoTokensAndHasNoTtft) {
  TestbedServer bed;
  auto spec = Spec(1ms, 1ms, 4);
  spec.no_tokens = true;
  bed.Bed().SetStream(spec);
  const auto result = RunOnce(ProbeFromYaml(Probe(bed, GetParam())));
  EXPECT_EQ(result.reason, Reason::kNoTokens) << Why(result);
  ASSERT_TRUE(result.stream);
  EXPECT_FALSE(result.stream->ttft);
  EXPECT_TRUE(result.stream->ttfb);
  EXPECT_TRUE(result.stream->stream);
}

TEST_P(LlmStream, ReadingStopsAtTheEndMarker) {
  TestbedServer bed;
  auto spec = Spec(1ms, 1ms, 3);
  spec.hold = 2s;  // the server keeps the body open after its end marker
  bed.Bed().SetStream(spec);
  const auto result = RunOnce(ProbeFromYaml(Probe(bed, GetParam())));
  ASSERT_TRUE(result.Ok()) << Why(result);
  EXPECT_LT(result.duration, 1s);
}

TEST_P(LlmStream, ATimeoutMidStreamSaysHowFarItGot) {
  TestbedServer bed;
  bed.Bed().SetStream(Spec(1ms, 400ms, 4));
  auto probe = ProbeFromYaml(Probe(bed, GetParam()));
  probe.timeout = 200ms;
  const auto result = RunOnce(probe);
  EXPECT_EQ(result.reason, Reason::kTimeout) << Why(result);
  EXPECT_NE(result.detail.find("after 1 token chunk(s)"), std::string::npos) << result.detail;
  ASSERT_TRUE(result.stream);
  EXPECT_TRUE(result.stream->ttft);  // the first token did arrive
}

INSTANTIATE_TEST_SUITE_P(Apis, LlmStream, ::testing::ValuesIn(kEndpoints),
                         [](const auto& p) { return std::string(p.param.api); });

TEST(LlmStreamOpenAi, WithoutUsageTheOutputIsCountedAndSaidToBeApproximate) {
  TestbedServer bed;
  bed.Bed().SetStream(Spec(1ms, 1ms, 5));
  const auto result = RunOnce(ProbeFromYaml(Probe(bed, kEndpoints[0], "include_usage: false\n")));
  ASSERT_TRUE(result.Ok()) << Why(result);
  EXPECT_EQ(result.stream->output_tokens, 5u);
  EXPECT_TRUE(result.stream->output_tokens_approximate);
  EXPECT_FALSE(result.stream->input_tokens);
}

TEST(LlmStreamOpenAi, ARoleOnlyFirstChunkIsNotTheFirstToken) {
  TestbedServer bed;
  auto spec = Spec(60ms, 1ms, 2);
  spec.role_chunk = true;  // sent with the headers, 60 ms before the first token
  bed.Bed().SetStream(spec);
  const auto result = RunOnce(ProbeFromYaml(Probe(bed, kEndpoints[0])));
  ASSERT_TRUE(result.Ok()) << Why(result);
  EXPECT_LT(*result.stream->ttfb, 30ms);
  EXPECT_GE(*result.stream->ttft, 60ms);
}

TEST(LlmStreamErrors, StatusAuthAndRateLimitAreToldApart) {
  testbed::Options options;
  options.llm_api_key = "sk-test-key-123";
  TestbedServer bed(options);
  bed.Bed().SetStream(Spec(1ms, 1ms, 2));
  const std::string secrets = "secrets:\n  key: {env: SLOPROBE_TEST_LLM_KEY}\n";
  auto config = [&](const Endpoint& e, const std::string& key) {
    return ConfigFromYaml(secrets + "probes:\n  - " + [&] {
      std::string p = Probe(bed, e, "api_key: \"" + key + "\"\n");
      std::string indented;
      for (char c : p) {
        indented += c;
        if (c == '\n') indented += "    ";
      }
      return indented;
    }());
  };
  setenv("SLOPROBE_TEST_LLM_KEY", "sk-test-key-123", 1);
  for (const auto& e : kEndpoints) {
    auto good = config(e, "${secrets.key}");
    auto secret = std::make_shared<const config::Redactor>(good.redactor);
    const auto ok = RunRepeatedly(good.probes.at(0), 1, {}, secret).at(0);
    EXPECT_TRUE(ok.Ok()) << e.api << ": " << Why(ok);
    auto bad = config(e, "sk-wrong-key");
    const auto denied = RunRepeatedly(bad.probes.at(0), 1, {},
                                      std::make_shared<const config::Redactor>(bad.redactor))
                            .at(0);
    EXPECT_EQ(denied.reason, Reason::kAuth) << e.api << ": " << Why(denied);
    EXPECT_EQ(denied.detail.find("sk-wrong-key"), std::string::npos) << denied.detail;
  }
  bed.SetFaults(R"(- {route: "/v1/*", error_ratio: 1, error_status: 429})");
  auto limited = config(kEndpoints[0], "${secrets.key}");
  const auto r = RunOnce(limited.probes.at(0));
  EXPECT_EQ(r.reason, Reason::kRateLimited) << Why(r);
  bed.SetFaults(R"(- {route: "/v1/*", error_ratio: 1, error_status: 503})");
  const auto r2 = RunOnce(limited.probes.at(0));
  EXPECT_EQ(r2.reason, Reason::kHttpStatus) << Why(r2);
  EXPECT_FALSE(r2.stream);
}

TEST(LlmStreamErrors, AJsonAnswerInsteadOfAStreamIsAProtocolError) {
  TestbedServer bed;
  const auto result =
      RunOnce(ProbeFromYaml(Probe(bed, {"openai", "/echo"})));  // 200 application/json
  EXPECT_EQ(result.reason, Reason::kProtocol) << Why(result);
  EXPECT_NE(result.detail.find("JSON body instead of a stream"), std::string::npos);
}

TEST(LlmStreamErrors, ANonceMakesEveryRequestDifferent) {
  TestbedServer bed;
  bed.Bed().SetStream(Spec(1ms, 1ms, 1));
  auto probe =
      ProbeFromYaml(std::string("name: chat\ntype: llm_stream\napi: openai\nurl: \"") +
                    bed.Url("/v1/chat/completions") + "\"\nmodel: m\nprompt: Hello\nnonce: true\n");
  // The testbed counts prompt words: "[nonce] Hello" is two.
  const auto results = RunRepeatedly(probe, 3);
  for (const auto& r : results) {
    ASSERT_TRUE(r.Ok()) << Why(r);
    EXPECT_EQ(r.stream->input_tokens, 2u);
  }
}

TEST(LlmStreamDaemon, ExportsHistogramsWithApiAndModelAndTheObjectives) {
  TestbedServer bed;
  bed.Bed().SetStream(Spec(20ms, 5ms, 4));
  DaemonRunner d(ConfigFromYaml(
      "global: {interval: 100ms, timeout: 2s}\nprobes:\n  - name: chat\n    type: llm_stream\n"
      "    api: anthropic\n    url: \"" +
      bed.Url("/v1/messages") +
      "\"\n    model: claude-test\n    prompt: Hi\n"
      "    objectives: {ttft: {quantile: 0.95, threshold: 333ms}, inter_chunk: {threshold: "
      "77ms}, e2e: {quantile: 0.9, threshold: 1500ms}, error_ratio: 0.05}\n"));
  const LabelSet labels{{"probe", "chat"}, {"api", "anthropic"}, {"model", "claude-test"}};
  ASSERT_TRUE(d.WaitFor([&](const Families& f) {
    return MetricValue(f, "sloprobe_llm_time_to_first_token_seconds_count", labels) >= 3;
  }));
  const auto f = d.Collect();
  const double runs = MetricValue(f, "sloprobe_llm_time_to_first_token_seconds_count", labels);
  EXPECT_EQ(MetricValue(f, "sloprobe_llm_time_to_first_byte_seconds_count", labels), runs);
  EXPECT_GE(MetricValue(f, "sloprobe_llm_inter_chunk_seconds_count", labels), 3 * runs);
  EXPECT_GE(MetricValue(f, "sloprobe_llm_time_per_output_token_seconds_count", labels), runs);
  EXPECT_GE(MetricValue(f, "sloprobe_llm_time_to_last_token_seconds_count", labels), runs);
  EXPECT_GE(MetricValue(f, "sloprobe_llm_stream_duration_seconds_count", labels), runs);
  EXPECT_GE(MetricValue(f, "sloprobe_llm_output_tokens_total", labels), 4 * runs);
  EXPECT_GE(MetricValue(f, "sloprobe_llm_input_tokens_total", labels), runs);
  EXPECT_EQ(MetricValue(f, "sloprobe_llm_usage_reported", labels), 1);
  EXPECT_GE(MetricValue(f, "sloprobe_llm_tokens_per_chunk_count", labels), runs);
  // The objective thresholds are bucket bounds, and TTFT (>= 20 ms) sits
  // under 333 ms but above the 10 ms bound.
  auto le = [&](const std::string& name, const std::string& bound) {
    auto l = labels;
    l["le"] = bound;
    return MetricValue(f, name + "_bucket", l);
  };
  EXPECT_GE(le("sloprobe_llm_time_to_first_token_seconds", "0.333"), runs);
  EXPECT_EQ(le("sloprobe_llm_time_to_first_token_seconds", "0.01"), 0);
  EXPECT_FALSE(std::isnan(le("sloprobe_llm_inter_chunk_seconds", "0.077")));
  EXPECT_FALSE(std::isnan(le("sloprobe_llm_time_to_last_token_seconds", "1.5")));
  EXPECT_DOUBLE_EQ(MetricValue(f, "sloprobe_objective_ttft_seconds", {{"probe", "chat"}}), 0.333);
  EXPECT_DOUBLE_EQ(MetricValue(f, "sloprobe_objective_ttft_quantile", {{"probe", "chat"}}), 0.95);
  EXPECT_DOUBLE_EQ(MetricValue(f, "sloprobe_objective_inter_chunk_seconds", {{"probe", "chat"}}),
                   0.077);
  EXPECT_DOUBLE_EQ(MetricValue(f, "sloprobe_objective_e2e_quantile", {{"probe", "chat"}}), 0.9);
  EXPECT_DOUBLE_EQ(MetricValue(f, "sloprobe_objective_error_ratio", {{"probe", "chat"}}), 0.05);
  // Stream failure reasons exist from the start at 0.
  EXPECT_EQ(MetricValue(f, "sloprobe_probe_failures_total",
                        {{"probe", "chat"}, {"step", "request"}, {"reason", "no_tokens"}}),
            0);
  EXPECT_EQ(MetricValue(f, "sloprobe_probe_failures_total",
                        {{"probe", "chat"}, {"step", "request"}, {"reason", "stream_error"}}),
            0);
}

}  // namespace
}  // namespace sloprobe::test
