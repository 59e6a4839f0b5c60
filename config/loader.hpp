#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace sloprobe::config {

struct ConfigError {
  Location where;
  std::string message;  // never holds a secret's value

  // "file:line:column: message", the form editors and CI logs link.
  std::string ToString() const;
};

// Either a complete config or every error found; never both, never half.
struct LoadResult {
  std::optional<Config> config;
  std::vector<ConfigError> errors;
};

LoadResult LoadConfigFile(const std::string& path);

// `file` only names the source in error messages.
LoadResult LoadConfigString(std::string_view yaml, const std::string& file);

}  // namespace sloprobe::config
