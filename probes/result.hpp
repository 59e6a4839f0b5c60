#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "probes/reason.hpp"

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

  // Adds `other` phase by phase (redirect hops add up).
  void Add(const PhaseTimings& other);
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

  bool Ok() const { return reason == Reason::kOk; }
};

}  // namespace sloprobe::probes
