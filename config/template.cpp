#include "config/template.hpp"

#include <algorithm>

namespace sloprobe::config {

bool IsBuiltinVariable(std::string_view name) {
  return name == kBuiltinUuid || name == kBuiltinUnixMs || name == kBuiltinRunId;
}

bool ValidVariableName(std::string_view name) {
  if (name.empty() || name.size() > 64 || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool Template::Static() const {
  return std::none_of(parts.begin(), parts.end(), [](const Part& p) { return p.variable; });
}

std::string Template::Text() const {
  std::string out;
  for (const auto& p : parts) {
    if (!p.variable) out += p.text;
  }
  return out;
}

std::string Escaped(std::string_view value, Template::Escape escape) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  auto alnum = [](unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  auto percent = [&](unsigned char c) {
    out += '%';
    out += kHex[c >> 4];
    out += kHex[c & 15];
  };
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    switch (escape) {
      case Template::Escape::kNone:
        out += ch;
        break;
      case Template::Escape::kJson:
        // RFC 8259: quote, backslash and control characters; UTF-8 passes.
        if (c == '"' || c == '\\') {
          out += '\\';
          out += ch;
        } else if (c == '\n') {
          out += "\\n";
        } else if (c == '\r') {
          out += "\\r";
        } else if (c == '\t') {
          out += "\\t";
        } else if (c < 0x20 || c == 0x7f) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += ch;
        }
        break;
      case Template::Escape::kUrl:  // RFC 3986 unreserved
        if (alnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
          out += ch;
        } else {
          percent(c);
        }
        break;
      case Template::Escape::kForm:  // WHATWG application/x-www-form-urlencoded
        if (alnum(c) || c == '*' || c == '-' || c == '.' || c == '_') {
          out += ch;
        } else if (c == ' ') {
          out += '+';
        } else {
          percent(c);
        }
        break;
    }
  }
  return out;
}

void Template::Append(std::string_view literal) {
  if (literal.empty()) return;
  if (!parts.empty() && !parts.back().variable) {
    parts.back().text += literal;
  } else {
    parts.push_back({false, std::string(literal), Escape::kNone});
  }
}

void Template::AppendVariable(std::string name, Escape escape) {
  parts.push_back({true, std::move(name), escape});
}

}  // namespace sloprobe::config
