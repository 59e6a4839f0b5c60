#include "config/duration.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <utility>

namespace sloprobe::config {
namespace {

struct Unit {
  std::string_view name;
  std::int64_t nanos;
};

// Longest names first, so that "ms" is not read as "m" followed by "s".
constexpr std::array kDurationUnits{
    Unit{"ns", 1},
    Unit{"us", 1'000},
    Unit{"µs", 1'000},
    Unit{"ms", 1'000'000},
    Unit{"s", 1'000'000'000},
    Unit{"m", 60'000'000'000},
    Unit{"h", 3'600'000'000'000},
};

// Reads a non-negative decimal number at the front of `text`.
std::optional<double> TakeNumber(std::string_view& text) {
  std::size_t n = 0;
  bool digits = false;
  bool dot = false;
  while (n < text.size()) {
    const char c = text[n];
    if (c >= '0' && c <= '9') {
      digits = true;
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      break;
    }
    ++n;
  }
  if (!digits) return std::nullopt;
  double value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + n, value);
  if (ec != std::errc{} || ptr != text.data() + n) return std::nullopt;
  text.remove_prefix(n);
  return value;
}

}  // namespace

std::optional<Duration> ParseDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  long double total = 0;
  while (!text.empty()) {
    auto number = TakeNumber(text);
    if (!number) return std::nullopt;
    const Unit* unit = nullptr;
    for (const auto& u : kDurationUnits) {
      if (text.starts_with(u.name) && (unit == nullptr || u.name.size() > unit->name.size())) {
        unit = &u;
      }
    }
    if (unit == nullptr) return std::nullopt;
    text.remove_prefix(unit->name.size());
    total += static_cast<long double>(*number) * static_cast<long double>(unit->nanos);
  }
  // About 292 years fits in int64 nanoseconds; nothing sensible is longer.
  if (!std::isfinite(static_cast<double>(total)) || total > 9.0e18L) return std::nullopt;
  return Duration(static_cast<std::int64_t>(std::llround(static_cast<double>(total))));
}

std::string FormatDuration(Duration d) {
  if (d == Duration::zero()) return "0s";
  std::string out;
  auto ns = d.count();
  if (ns < 0) {
    out += '-';
    ns = -ns;
  }
  // Sub-second values that are not whole seconds read best in one small unit.
  if (ns % 1'000'000'000 != 0 && ns < 60'000'000'000) {
    if (ns % 1'000'000 == 0) return out + std::to_string(ns / 1'000'000) + "ms";
    if (ns % 1'000 == 0) return out + std::to_string(ns / 1'000) + "us";
    if (ns >= 1'000'000'000) {
      // e.g. 1.5s
      std::array<char, 32> buf{};
      auto [p, ec] =
          std::to_chars(buf.data(), buf.data() + buf.size(), static_cast<double>(ns) / 1e9);
      (void)ec;
      return out + std::string(buf.data(), p) + "s";
    }
    return out + std::to_string(ns) + "ns";
  }
  const std::pair<std::int64_t, const char*> parts[] = {
      {3'600'000'000'000, "h"}, {60'000'000'000, "m"}, {1'000'000'000, "s"},
      {1'000'000, "ms"},        {1'000, "us"},         {1, "ns"}};
  for (const auto& [size, name] : parts) {
    if (ns >= size) {
      out += std::to_string(ns / size) + name;
      ns %= size;
    }
  }
  return out;
}

std::optional<std::uint64_t> ParseSize(std::string_view text) {
  std::string_view rest = text;
  std::uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), value);
  if (ec != std::errc{} || ptr == rest.data()) return std::nullopt;
  rest.remove_prefix(static_cast<std::size_t>(ptr - rest.data()));
  const std::pair<std::string_view, std::uint64_t> units[] = {
      {"", 1},       {"B", 1},      {"KiB", 1 << 10},  {"MiB", 1 << 20},     {"GiB", 1 << 30},
      {"kB", 1'000}, {"KB", 1'000}, {"MB", 1'000'000}, {"GB", 1'000'000'000}};
  for (const auto& [name, factor] : units) {
    if (rest == name) {
      if (value > UINT64_MAX / factor) return std::nullopt;
      return value * factor;
    }
  }
  return std::nullopt;
}

}  // namespace sloprobe::config
