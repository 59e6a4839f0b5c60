#pragma once

#include <string>

namespace sloprobe::config {

// Where a value came from, for messages about it after loading.
struct Location {
  std::string file;
  int line = 0;    // 1-based
  int column = 0;  // 1-based
};

// One problem found in a configuration file.
struct ConfigError {
  Location where;
  std::string message;  // never holds a secret's value

  // "file:line:column: message", the form editors and CI logs link.
  std::string ToString() const;
};

}  // namespace sloprobe::config
