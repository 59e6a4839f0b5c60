#pragma once

#include <string>
#include <string_view>
#include <system_error>

namespace sloprobe::probes {

// Why a probe run failed. The names are the `reason` label of
// sloprobe_probe_failures_total and a fixed set: dashboards and alerts may
// match on them, so they only ever grow.
enum class Reason {
  kOk = 0,
  kDns,           // the name did not resolve
  kConnect,       // TCP connect refused or unreachable
  kTls,           // handshake or certificate verification failed
  kTimeout,       // the run's deadline passed (the detail names the phase)
  kHttpStatus,    // a status outside `expect.status`
  kRateLimited,   // 429 outside `expect.status`
  kExpectation,   // body, JSON or header expectation not met
  kBodyTooLarge,  // body over `body_limit`
  kProtocol,      // not valid HTTP, or the connection ended before a response
  kStreamError,   // error event inside a stream
  kTruncated,     // the response ended before it was complete
  kNoTokens,      // a stream ended without a single token
  kAuth,          // 401 or 403 outside `expect.status`
};

inline constexpr int kReasonCount = static_cast<int>(Reason::kAuth) + 1;

// The label value, e.g. "http_status"; "" for kOk.
std::string_view ReasonName(Reason r);

// Text quoted in a failure detail (server text, or long config values), cut
// to `limit` bytes with "..." and with control characters as '?': details
// become log lines, and a server may send anything.
std::string Excerpt(std::string_view text, std::size_t limit = 64);

const std::error_category& ReasonCategory();
std::error_code make_error_code(Reason r);  // NOLINT(readability-identifier-naming): ADL hook

}  // namespace sloprobe::probes

template <>
struct std::is_error_code_enum<sloprobe::probes::Reason> : std::true_type {};
