#include "config/error.hpp"

namespace sloprobe::config {

std::string ConfigError::ToString() const {
  std::string out = where.file;
  if (where.line > 0) out += ':' + std::to_string(where.line) + ':' + std::to_string(where.column);
  return out + ": " + message;
}

}  // namespace sloprobe::config
