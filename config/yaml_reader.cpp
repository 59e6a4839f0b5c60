#include "config/yaml_reader.hpp"

#include <algorithm>
#include <set>
#include <tuple>

#include "config/text.hpp"

namespace sloprobe::config {

std::optional<YAML::Node> YamlReader::Parse(std::string_view text) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    errors_.push_back(
        {Location{file_, e.mark.line + 1, e.mark.column + 1}, "YAML syntax error: " + e.msg});
    return std::nullopt;
  }
}

std::vector<ConfigError> YamlReader::TakeErrors() {
  std::stable_sort(errors_.begin(), errors_.end(), [](const auto& a, const auto& b) {
    return std::tie(a.where.line, a.where.column) < std::tie(b.where.line, b.where.column);
  });
  return std::exchange(errors_, {});
}

Location YamlReader::Where(const YAML::Node& n) const {
  const auto m = n.Mark();
  if (m.is_null()) return Location{file_, 0, 0};
  return Location{file_, m.line + 1, m.column + 1};
}

void YamlReader::Error(const YAML::Node& n, std::string message) {
  errors_.push_back({Where(n), std::move(message)});
}

void YamlReader::ErrorAtFile(std::string message) {
  errors_.push_back({Location{file_, 0, 0}, std::move(message)});
}

bool YamlReader::CheckMap(const YAML::Node& n, std::string_view what, Keys keys,
                          std::string_view context) {
  if (!n.IsMap()) {
    Error(n, std::string(what) + " must be a mapping");
    return false;
  }
  std::set<std::string> seen;
  for (const auto& kv : n) {
    const auto key = kv.first.Scalar();
    if (!seen.insert(key).second) {
      Error(kv.first, "duplicate key " + Quote(key) + " " + std::string(context));
      continue;
    }
    if (std::find(keys.begin(), keys.end(), key) != keys.end()) continue;
    std::string message = "unknown key " + Quote(key) + " " + std::string(context);
    if (auto s = Suggest(key, keys); !s.empty()) message += "; did you mean " + Quote(s) + "?";
    Error(kv.first, std::move(message));
  }
  return true;
}

std::optional<std::string> YamlReader::String(const YAML::Node& n, std::string_view what) {
  if (!n.IsScalar()) {
    Error(n, std::string(what) + " must be a string");
    return std::nullopt;
  }
  return n.Scalar();
}

std::optional<Duration> YamlReader::PositiveDuration(const YAML::Node& n, std::string_view what,
                                                     bool allow_zero) {
  auto s = String(n, what);
  if (!s) return std::nullopt;
  auto d = ParseDuration(*s);
  if (!d) {
    Error(n, "invalid duration " + Quote(*s) + " for " + std::string(what) +
                 " (use a number with a unit: 500ms, 10s, 1m, 2h)");
    return std::nullopt;
  }
  if (*d < Duration::zero() || (!allow_zero && *d == Duration::zero())) {
    Error(n, std::string(what) + " must be greater than zero, got " + Quote(*s));
    return std::nullopt;
  }
  return d;
}

std::optional<bool> YamlReader::Bool(const YAML::Node& n, std::string_view what) {
  if (n.IsScalar()) {
    const auto& s = n.Scalar();
    if (s == "true") return true;
    if (s == "false") return false;
  }
  Error(n, std::string(what) + " must be true or false");
  return std::nullopt;
}

std::optional<std::uint64_t> YamlReader::Size(const YAML::Node& n, std::string_view what) {
  auto s = String(n, what);
  if (!s) return std::nullopt;
  auto v = ParseSize(*s);
  if (!v || *v == 0) {
    Error(n, "invalid size " + Quote(*s) + " for " + std::string(what) +
                 " (use bytes or a unit: 65536, 64KiB, 1MiB)");
    return std::nullopt;
  }
  return v;
}

std::optional<std::vector<std::string>> YamlReader::StringList(const YAML::Node& n,
                                                               std::string_view what) {
  if (!n.IsSequence()) {
    Error(n, std::string(what) + " must be a list of strings");
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  for (const auto& item : n) {
    if (auto s = String(item, std::string(what) + " entry")) {
      out.push_back(std::move(*s));
    } else {
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

YAML::Node YamlReader::Get(const YAML::Node& n, std::string_view key) {
  // An undefined node, made once the slow way.
  static const YAML::Node kAbsent = YAML::Node(YAML::NodeType::Map)["absent"];
  if (n.IsMap()) {
    for (const auto& kv : n) {
      if (kv.first.IsScalar() && kv.first.Scalar() == key) return kv.second;
    }
  }
  return kAbsent;
}

}  // namespace sloprobe::config
