#include "probes/common/http_date.hpp"

#include <array>
#include <charconv>
#include <ctime>
#include <string>

namespace sloprobe::probes {
namespace {

// strptime reads month and day names in the C locale, which a daemon that
// never calls setlocale() is in.
constexpr std::array<const char*, 4> kFormats{
    "%a, %d %b %Y %H:%M:%S GMT",  // IMF-fixdate
    "%A, %d-%b-%y %H:%M:%S GMT",  // RFC 850 (before the next: %Y also reads "94")
    "%a, %d-%b-%Y %H:%M:%S GMT",  // common in Set-Cookie
    "%a %b %e %H:%M:%S %Y",       // asctime
};

}  // namespace

std::optional<std::chrono::system_clock::time_point> ParseHttpDate(std::string_view text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  const std::string s(text);
  for (const char* format : kFormats) {
    std::tm tm{};
    const char* end = strptime(s.c_str(), format, &tm);
    if (end == nullptr || *end != '\0') continue;
    const std::time_t t = timegm(&tm);
    if (t == static_cast<std::time_t>(-1)) continue;
    return std::chrono::system_clock::from_time_t(t);
  }
  return std::nullopt;
}

std::optional<std::chrono::seconds> ParseRetryAfter(std::string_view value,
                                                    std::chrono::system_clock::time_point now) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (value.front() >= '0' && value.front() <= '9') {
    std::int64_t seconds = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec == std::errc::result_out_of_range) return std::chrono::seconds::max();
    if (ec != std::errc{} || p != value.data() + value.size()) return std::nullopt;
    return std::chrono::seconds(seconds);
  }
  const auto date = ParseHttpDate(value);
  if (!date) return std::nullopt;
  if (*date <= now) return std::chrono::seconds(0);
  return std::chrono::ceil<std::chrono::seconds>(*date - now);
}

}  // namespace sloprobe::probes
