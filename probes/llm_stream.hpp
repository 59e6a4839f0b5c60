#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "probes/reason.hpp"

// What the chunks of a streamed LLM response mean, per API dialect, and the
// timings they add up to (definitions: docs/metrics.md, "LLM streams").
namespace sloprobe::probes {

enum class LlmApi { kOpenAi, kAnthropic, kOllama };

std::string_view LlmApiName(LlmApi api);  // "openai", "anthropic", "ollama"

// One SSE event (OpenAI, Anthropic) or NDJSON line (Ollama), interpreted.
struct StreamItem {
  bool token = false;        // carries output: text, reasoning or a tool call
  bool terminal = false;     // [DONE], message_stop, done: true
  bool error = false;        // the server reported an error inside the stream
  bool malformed = false;    // not the JSON the dialect promises
  std::string error_detail;  // short, from the server's error message
  // Usage as the server reports it. Anthropic's output count is cumulative
  // over message_delta events; the last one seen wins.
  std::optional<std::uint64_t> output_tokens;
  std::optional<std::uint64_t> input_tokens;
};

// `type` is the SSE event type ("message" when unnamed; ignored for Ollama).
StreamItem InterpretChunk(LlmApi api, std::string_view type, std::string_view data);

// Adds items up into the timings of one stream. Times are those of the read
// that completed each item; items from one read share a time.
class StreamTimer {
 public:
  using Clock = std::chrono::steady_clock;
  using Duration = Clock::duration;

  explicit StreamTimer(Clock::time_point t0) : t0_(t0) {}

  void FirstByte(Clock::time_point at);
  // Items completed by one read; `at` is when that read returned.
  void Add(const StreamItem& item, Clock::time_point at);
  // The read that ended the stream (terminal item or EOF) returned at `at`.
  void End(Clock::time_point at) { end_ = at; }

  bool Terminated() const { return terminated_; }
  bool Failed() const { return error_ || malformed_; }

  struct Summary {
    Reason reason = Reason::kOk;
    std::string detail;
    std::optional<Duration> ttfb;
    std::optional<Duration> ttft;
    std::vector<Duration> gaps;      // one per pair of consecutive token items
    std::optional<Duration> e2e;     // last token item
    std::optional<Duration> tpot;    // (e2e - ttft) / (output tokens - 1)
    std::optional<Duration> stream;  // terminal marker or EOF
    std::uint64_t output_tokens = 0;
    std::optional<std::uint64_t> input_tokens;
    bool output_tokens_approximate = false;  // counted token items, no usage
    std::uint64_t token_items = 0;
  };
  // The outcome: stream_error, protocol, truncated (no terminal marker),
  // no_tokens, or ok, in that order of precedence.
  Summary Finish() const;

 private:
  Clock::time_point t0_;
  std::optional<Clock::time_point> first_byte_;
  std::optional<Clock::time_point> first_token_;
  std::optional<Clock::time_point> last_token_;
  std::optional<Clock::time_point> end_;
  std::vector<Duration> gaps_;
  std::uint64_t token_items_ = 0;
  std::optional<std::uint64_t> output_tokens_;
  std::optional<std::uint64_t> input_tokens_;
  bool terminated_ = false;
  bool error_ = false;
  bool malformed_ = false;
  std::string detail_;
};

}  // namespace sloprobe::probes
