#include "probes/common/variables.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/regex.hpp>
#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>
#include <chrono>

namespace sloprobe::probes {

std::string NewUuid() {
  // Not for secrets: a nonce and an id. Seeded once per thread from the OS.
  thread_local boost::uuids::random_generator_mt19937 generator;
  return boost::uuids::to_string(generator());
}

std::optional<std::string> Render(const config::Template& t, const Variables& vars,
                                  std::string& missing) {
  std::string out;
  for (const auto& part : t.parts) {
    if (!part.variable) {
      out += part.text;
      continue;
    }
    std::string made;
    const std::string* value = nullptr;
    if (part.text == config::kBuiltinUuid) {
      made = NewUuid();
      value = &made;
    } else if (part.text == config::kBuiltinUnixMs) {
      made = std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count());
      value = &made;
    } else if (auto it = vars.find(part.text); it != vars.end()) {
      value = &it->second;
    }
    if (value == nullptr) {
      missing = part.text;
      return std::nullopt;
    }
    out += config::Escaped(*value, part.escape);
  }
  return out;
}

namespace {

// The body parsed as JSON at most once, however many extractions need it.
class Body {
 public:
  explicit Body(const std::string& text) : text_(text) {}
  const boost::json::value* Json(std::string& error) {
    if (!parsed_) {
      parsed_ = true;
      doc_ = boost::json::parse(text_, ec_);
    }
    if (ec_) {
      error = "body is not JSON: " + ec_.message();
      return nullptr;
    }
    return &doc_;
  }

 private:
  const std::string& text_;
  bool parsed_ = false;
  boost::system::error_code ec_;
  boost::json::value doc_;
};

std::optional<std::string> Capture(std::string_view text, const config::Extraction& x,
                                   std::string_view where, std::string& error) {
  try {
    boost::match_results<std::string_view::const_iterator> m;
    if (!boost::regex_search(text.begin(), text.end(), m, *x.regex)) {
      error = "regex '" + Excerpt(x.regex_source) + "' does not match " + std::string(where);
      return std::nullopt;
    }
    const int group = x.group;
    if (!m[group].matched) {
      error = "group " + std::to_string(x.group) + " of regex '" + Excerpt(x.regex_source) +
              "' did not take part in the match";
      return std::nullopt;
    }
    return m[group].str();
  } catch (const std::runtime_error&) {
    // Boost.Regex bounds its work and throws on pathological input.
    error = "regex '" + Excerpt(x.regex_source) + "' is too costly to evaluate here";
    return std::nullopt;
  }
}

std::optional<std::string> ExtractOne(const config::Extraction& x, const HttpResponse& response,
                                      Body& body, std::string& error) {
  using Source = config::Extraction::Source;
  switch (x.source) {
    case Source::kStatus:
      return std::to_string(response.status);
    case Source::kHeader: {
      const auto it = response.headers.find(x.key);
      if (it == response.headers.end()) {
        error = "header '" + x.key + "' is missing";
        return std::nullopt;
      }
      const std::string_view value = it->value();
      if (!x.regex) return std::string(value);
      return Capture(value, x, "header '" + x.key + "'", error);
    }
    case Source::kBody:
      return Capture(response.body, x, "the body", error);
    case Source::kJson: {
      const auto* doc = body.Json(error);
      if (doc == nullptr) return std::nullopt;
      boost::system::error_code ec;
      const auto* found = doc->find_pointer(x.key, ec);
      if (found == nullptr) {
        error = "JSON Pointer '" + Excerpt(x.key) + "' not found";
        return std::nullopt;
      }
      if (found->is_null()) {
        error = "JSON Pointer '" + Excerpt(x.key) + "' is null";
        return std::nullopt;
      }
      if (found->is_string()) return std::string(found->get_string());
      return boost::json::serialize(*found);
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> ExtractAll(const std::vector<config::Extraction>& extractions,
                                      const HttpResponse& response, Variables& vars) {
  Body body(response.body);
  for (const auto& x : extractions) {
    std::string error;
    auto value = ExtractOne(x, response, body, error);
    if (!value) return "extract '" + x.variable + "': " + error;
    vars[x.variable] = std::move(*value);
  }
  return std::nullopt;
}

std::optional<double> JsonNumber(std::string_view body, std::string_view pointer) {
  boost::system::error_code ec;
  const auto doc = boost::json::parse(body, ec);
  if (ec) return std::nullopt;
  const auto* found = doc.find_pointer(pointer, ec);
  if (found == nullptr || !found->is_number()) return std::nullopt;
  return found->to_number<double>(ec);
}

}  // namespace sloprobe::probes
