#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "config/duration.hpp"
#include "config/error.hpp"

namespace sloprobe::config {

// Reads YAML into typed values and collects every problem as a located
// ConfigError instead of stopping at the first. The configuration file and
// the web configuration file are read with it, so both report errors the
// same way: "file:line:column: message".
class YamlReader {
 public:
  using Keys = std::span<const std::string_view>;

  explicit YamlReader(std::string file) : file_(std::move(file)) {}

  // The parsed document, or nullopt after recording the syntax error.
  std::optional<YAML::Node> Parse(std::string_view text);

  // The errors so far, ordered by position.
  std::vector<ConfigError> TakeErrors();

  const std::string& File() const { return file_; }

  Location Where(const YAML::Node& n) const;
  void Error(const YAML::Node& n, std::string message);
  void ErrorAtFile(std::string message);  // no position: the whole file
  bool HasErrors() const { return !errors_.empty(); }

  static std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

  // n[key] for a mapping, undefined (false) when the key is absent. yaml-cpp's
  // own const operator[] formats an absent key through a std::stringstream
  // for an error text nobody reads: a quarter of the time it took to load
  // 10,000 probes.
  static YAML::Node Get(const YAML::Node& n, std::string_view key);

  // Checks that `n` is a mapping whose keys are all in `keys`, each once.
  // `what` names the value ("probe 'health'"), `context` ends messages.
  bool CheckMap(const YAML::Node& n, std::string_view what, Keys keys, std::string_view context);

  std::optional<std::string> String(const YAML::Node& n, std::string_view what);
  std::optional<Duration> PositiveDuration(const YAML::Node& n, std::string_view what,
                                           bool allow_zero = false);
  std::optional<bool> Bool(const YAML::Node& n, std::string_view what);
  std::optional<std::uint64_t> Size(const YAML::Node& n, std::string_view what);
  // A sequence of strings.
  std::optional<std::vector<std::string>> StringList(const YAML::Node& n, std::string_view what);

  template <typename T>
  std::optional<T> Number(const YAML::Node& n, std::string_view what) {
    if (n.IsScalar()) {
      try {
        return n.as<T>();
      } catch (const YAML::Exception&) {
      }
    }
    Error(n, std::string(what) + " must be " +
                 (std::is_integral_v<T> ? "a whole number" : "a number") +
                 (n.IsScalar() ? ", got " + Quote(n.Scalar()) : ""));
    return std::nullopt;
  }

 private:
  std::string file_;
  std::vector<ConfigError> errors_;
};

}  // namespace sloprobe::config
