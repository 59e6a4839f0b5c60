#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sloprobe::config {

// ASCII case-insensitive equality, as HTTP header names compare.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// Edit distance between two short strings (keys, names).
std::size_t EditDistance(std::string_view a, std::string_view b);

// The candidate closest to `word` if it is close enough to be a likely typo,
// otherwise empty.
std::string_view Suggest(std::string_view word, std::span<const std::string_view> candidates);

// "1 probe", "3 probes": a count and its noun, with an English plural "s".
std::string Count(std::size_t n, std::string_view noun);

// Standard base64 (RFC 4648) with padding.
std::string Base64(std::string_view in);
// The bytes of padded base64 text; nullopt when it is not.
std::optional<std::string> Base64Decode(std::string_view in);

}  // namespace sloprobe::config
