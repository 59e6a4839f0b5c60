#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "probes/common/reason.hpp"
#include "probes/common/result.hpp"
#include "probes/common/sse.hpp"

// What the chunks of a streamed LLM response mean, per API dialect, and the
// timings they add up to (definitions: docs/metrics.md, "LLM streams").
namespace sloprobe::probes {

using config::LlmApi;
using config::LlmApiName;

// The JSON request body for `llm` in its API's shape, streaming on. A
// non-empty `nonce` starts the first message.
std::string BuildLlmBody(const config::LlmStream& llm, std::string_view nonce);

// One SSE event (OpenAI, Anthropic) or NDJSON line (Ollama), interpreted.
struct StreamItem {
  bool token = false;      // carries output: text, reasoning or a tool call
  bool terminal = false;   // [DONE], message_stop, done: true
  bool error = false;      // the server reported an error inside the stream
  bool malformed = false;  // not the JSON the dialect promises
  // The server's error message as sent (up to 4 KiB); it may quote a
  // credential, so it goes through QuoteError before any message.
  std::string error_detail;
  // Usage as the server reports it. Anthropic's output count is cumulative
  // over message_delta events; the last one seen wins.
  std::optional<std::uint64_t> output_tokens;
  std::optional<std::uint64_t> input_tokens;
};

// `type` is the SSE event type ("message" when unnamed; ignored for Ollama).
StreamItem InterpretChunk(LlmApi api, std::string_view type, std::string_view data);

// A server's error text for a message: `scrub`bed first, then shortened, so
// that a credential cut in half by the shortening is still found.
std::string QuoteError(std::string_view text, const config::Redactor* scrub);

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
  void End(Clock::time_point at) {
    if (!end_) end_ = at;
  }

  bool Terminated() const { return terminated_; }
  bool Failed() const { return error_ || malformed_; }

  struct Summary : StreamTimings {
    Reason reason = Reason::kOk;
    std::string detail;
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

// Decodes one streamed body of `api` (SSE, or NDJSON for Ollama) into a
// StreamTimer, fed the bytes of each read with that read's time.
class StreamDecoder {
 public:
  // Error events are quoted through QuoteError with `scrub`.
  StreamDecoder(LlmApi api, StreamTimer& timer, const config::Redactor* scrub = nullptr)
      : api_(api), timer_(timer), scrub_(scrub) {}

  // Returns false once nothing more needs reading: the terminal marker, an
  // error event, or a chunk that is not valid JSON decided the outcome.
  bool Feed(std::string_view bytes, StreamTimer::Clock::time_point at);

 private:
  LlmApi api_;
  StreamTimer& timer_;
  const config::Redactor* scrub_;
  SseParser sse_;
  NdjsonReader ndjson_;
};

}  // namespace sloprobe::probes
