#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace sloprobe::probes {

// An HTTP-date (RFC 9110 section 5.6.7): IMF-fixdate, and the obsolete RFC 850
// and asctime forms recipients must accept. Cookie dates' common variant
// with dashes ("Wed, 21-Oct-2026 07:28:00 GMT") is accepted too.
std::optional<std::chrono::system_clock::time_point> ParseHttpDate(std::string_view text);

// How long a Retry-After header value asks to wait: delay-seconds or an
// HTTP-date relative to `now`. Zero for a date in the past; nullopt when the
// value is neither.
std::optional<std::chrono::seconds> ParseRetryAfter(std::string_view value,
                                                    std::chrono::system_clock::time_point now);

}  // namespace sloprobe::probes
