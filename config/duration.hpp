#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sloprobe::config {

using Duration = std::chrono::nanoseconds;

// Parses "250ms", "10s", "1m30s", "2h", "1.5s". Units: ns, us, ms, s, m, h.
// A bare number is rejected: a unit is always required.
std::optional<Duration> ParseDuration(std::string_view text);

// Shortest exact rendering, e.g. "1m30s", "250ms".
std::string FormatDuration(Duration d);

// Parses byte sizes: "1048576", "64KiB", "1MiB", "10MB", "1kB".
std::optional<std::uint64_t> ParseSize(std::string_view text);

inline double ToSeconds(Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace sloprobe::config
