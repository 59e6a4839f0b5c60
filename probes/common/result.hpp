#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "probes/common/reason.hpp"

namespace sloprobe::probes {

using Clock = std::chrono::steady_clock;
using Duration = Clock::duration;

// Durations of the phases of one HTTP exchange. A phase that did not happen
// (no DNS for a reused connection, no TLS over plain HTTP, no response after
// a failure) is empty, never zero.
struct PhaseTimings {
  std::optional<Duration> resolve;
  std::optional<Duration> connect;
  std::optional<Duration> tls;
  std::optional<Duration> ttfb;      // request handed to the socket -> first response byte
  std::optional<Duration> transfer;  // first response byte -> response complete
  // WebSocket: the upgrade request handed to the socket -> 101 read.
  std::optional<Duration> upgrade;

  // Adds `other` phase by phase (redirect hops add up).
  void Add(const PhaseTimings& other);
};

// The timings of one streamed LLM response (definitions: docs/metrics.md,
// "LLM streams"). All from t0, the moment the request was handed to the
// socket; a value that did not happen (no token, no end) is empty.
struct StreamTimings {
  std::optional<Duration> ttfb;
  std::optional<Duration> ttft;
  std::vector<Duration> gaps;      // one per pair of consecutive token chunks
  std::optional<Duration> e2e;     // the last token chunk
  std::optional<Duration> tpot;    // (e2e - ttft) / (output tokens - 1)
  std::optional<Duration> stream;  // terminal marker or end of the body
  // From the server's usage fields; without them, the number of token chunks
  // (then `output_tokens_approximate`).
  std::uint64_t output_tokens = 0;
  bool output_tokens_approximate = false;
  std::optional<std::uint64_t> input_tokens;
  std::uint64_t token_items = 0;  // chunks that carried output
};

struct StepResult {
  // How the cached (login) step of a scenario came about in this run.
  enum class Login {
    kNone,    // not the cached step
    kReused,  // not sent: the values of an earlier run were still fresh
    kNew,     // sent: nothing fresh was cached
    kRetry,   // sent again: a later step got 401 with the cached values
  };

  std::string name;
  Duration duration{};
  PhaseTimings phases;
  int status = 0;  // 0 when no response arrived
  Reason reason = Reason::kOk;
  std::string detail;  // why this step failed or was skipped; never holds a secret
  // Whether the request was attempted on the network. False for a login
  // reused from the cache, a skipped cleanup step, and a step that failed
  // before sending (its variables could not be filled in).
  bool sent = true;
  bool cleanup = false;  // an `always` step
  bool retried = false;  // got 401 and was repeated after a new login
  Login login = Login::kNone;
  // A scenario's llm_stream step: set whenever a streamed body was read.
  // (A standalone probe's are on ProbeResult.)
  std::optional<StreamTimings> stream;
  // A scenario's websocket step: message sent -> its matching reply read.
  std::vector<Duration> round_trips;

  bool Ok() const { return reason == Reason::kOk; }
};

// What one run of a probe produced. Plain data: sinks read it.
struct ProbeResult {
  Reason reason = Reason::kOk;
  std::string detail;  // human-readable cause; never holds a secret
  std::string step;    // where the run failed; empty when it did not
  Duration duration{};
  std::vector<StepResult> steps;
  // Set when the target answered 429 with a Retry-After: how long it asked
  // the prober to wait before the next run.
  std::optional<std::chrono::seconds> retry_after;
  // Leaf certificate expiry (Unix seconds) when the run completed a TLS handshake.
  std::optional<std::int64_t> cert_not_after;
  // llm_stream probes: set whenever a streamed body was read, failed or not.
  std::optional<StreamTimings> stream;
  // websocket probes: message sent -> its matching reply read, one per
  // message that got one.
  std::vector<Duration> round_trips;

  bool Ok() const { return reason == Reason::kOk; }

  // Calls f with each stream the run read: a probe's own, then its steps'.
  template <typename F>
  void ForEachStream(F&& f) const {
    if (stream) f(*stream);
    for (const auto& s : steps) {
      if (s.stream) f(*s.stream);
    }
  }
  // Calls f with each WebSocket round trip of the run, the probe's own and
  // its steps'.
  template <typename F>
  void ForEachRoundTrip(F&& f) const {
    for (const auto rtt : round_trips) f(rtt);
    for (const auto& s : steps) {
      for (const auto rtt : s.round_trips) f(rtt);
    }
  }
};

}  // namespace sloprobe::probes
