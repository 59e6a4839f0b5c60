#pragma once

#include <optional>
#include <string>

#include "config/config.hpp"
#include "probes/common/http_client.hpp"

namespace sloprobe::probes {

struct ExpectationFailure {
  Reason reason = Reason::kExpectation;
  std::string detail;
};

// Checks a complete response against `expect`, in order: status, headers,
// body_contains, body_regex, JSON pointers. The first failure is returned.
// An unmet status is kRateLimited for 429, kAuth for 401 and 403 and
// kHttpStatus otherwise. Text quoted in the detail passes through `scrub`.
std::optional<ExpectationFailure> CheckResponse(const HttpResponse& response,
                                                const config::Expectations& expect,
                                                const config::Redactor* scrub = nullptr);

bool StatusAccepted(int status, const config::Expectations& expect);

// The wait a 429 response asks for in its Retry-After header, if any. Only
// 429: a 503's Retry-After would make a monitor look away from an outage.
std::optional<std::chrono::seconds> RateLimitDelay(const HttpResponse& response);

}  // namespace sloprobe::probes
