#pragma once

#include <string>
#include <string_view>
#include <vector>

// Text with `${name}` references that scenario steps fill in on every run.
// The loader builds templates; probes render them. Secrets are not
// variables: they are resolved when the config loads and become text.
namespace sloprobe::config {

// Variables every scenario step can use without defining them.
inline constexpr std::string_view kBuiltinUuid = "uuid";       // a fresh UUID v4 at each use
inline constexpr std::string_view kBuiltinUnixMs = "unix_ms";  // wall clock when the step is sent
inline constexpr std::string_view kBuiltinRunId = "run_id";    // one UUID v4 for the whole run

bool IsBuiltinVariable(std::string_view name);

// Letters, digits and '_', not starting with a digit.
bool ValidVariableName(std::string_view name);

struct Template {
  // How a variable's value is written where it stands.
  enum class Escape {
    kNone,  // as it is (plain bodies, headers; a URL's leading variable)
    kJson,  // inside a JSON string literal
    kUrl,   // percent-encoded: everything but RFC 3986 unreserved characters
    kForm,  // application/x-www-form-urlencoded value
  };
  struct Part {
    bool variable = false;
    std::string text;  // literal text (may hold a secret: never log), or a variable name
    Escape escape = Escape::kNone;
  };

  std::vector<Part> parts;

  bool Static() const;       // no variables
  std::string Text() const;  // the literal parts joined; the whole text when Static()
  void Append(std::string_view literal);
  void AppendVariable(std::string name, Escape escape);
};

// `value` written the way `escape` says.
std::string Escaped(std::string_view value, Template::Escape escape);

}  // namespace sloprobe::config
