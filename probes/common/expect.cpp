#include "probes/common/expect.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/regex.hpp>

#include "probes/common/http_date.hpp"

namespace sloprobe::probes {
namespace {

std::string StatusList(const config::Expectations& expect) {
  if (expect.status.empty()) return "2xx";
  std::string out;
  for (const auto& r : expect.status) {
    if (!out.empty()) out += ", ";
    if (r.low == r.high) {
      out += std::to_string(r.low);
    } else {
      out += std::to_string(r.low / 100) + "xx";
    }
  }
  return out;
}

bool JsonEqual(const boost::json::value& a, const boost::json::value& b) {
  if (a.is_number() && b.is_number()) {
    boost::system::error_code ea;
    boost::system::error_code eb;
    const double x = a.to_number<double>(ea);
    const double y = b.to_number<double>(eb);
    return !ea && !eb && x == y;
  }
  return a == b;
}

// Runs a regular expression over server text. Boost.Regex bounds its own
// work and throws instead of running away on pathological input.
std::optional<bool> SafeSearch(std::string_view text, const boost::regex& re) {
  try {
    return boost::regex_search(text.begin(), text.end(), re);
  } catch (const std::runtime_error&) {
    return std::nullopt;
  }
}

}  // namespace

std::optional<std::chrono::seconds> RateLimitDelay(const HttpResponse& response) {
  if (response.status != 429) return std::nullopt;
  const auto it = response.headers.find(boost::beast::http::field::retry_after);
  if (it == response.headers.end()) return std::nullopt;
  return ParseRetryAfter(it->value(), std::chrono::system_clock::now());
}

bool StatusAccepted(int status, const config::Expectations& expect) {
  if (expect.status.empty()) return status >= 200 && status <= 299;
  for (const auto& r : expect.status) {
    if (status >= r.low && status <= r.high) return true;
  }
  return false;
}

std::optional<ExpectationFailure> CheckResponse(const HttpResponse& response,
                                                const config::Expectations& expect,
                                                const config::Redactor* scrub) {
  // Secrets are masked before text is cut short, so that no part of one
  // survives the cut.
  auto quote = [scrub](std::string_view text) {
    return scrub != nullptr && !scrub->Empty() ? Excerpt(scrub->Redact(text)) : Excerpt(text);
  };
  if (!StatusAccepted(response.status, expect)) {
    Reason reason = Reason::kHttpStatus;
    if (response.status == 429) reason = Reason::kRateLimited;
    if (response.status == 401 || response.status == 403) reason = Reason::kAuth;
    std::string detail =
        "status " + std::to_string(response.status) + ", expected " + StatusList(expect);
    if (response.redirects > 0) {
      detail += " (after " + std::to_string(response.redirects) + " redirect" +
                (response.redirects == 1 ? ")" : "s)");
    }
    return ExpectationFailure{reason, std::move(detail)};
  }
  for (const auto& h : expect.headers) {
    const auto it = response.headers.find(h.name);
    if (it == response.headers.end()) {
      return ExpectationFailure{Reason::kExpectation, "header '" + h.name + "' is missing"};
    }
    const std::string_view value = it->value();
    bool ok = true;
    switch (h.op) {
      case config::HeaderExpectation::Op::kExists:
        break;
      case config::HeaderExpectation::Op::kEquals:
        ok = value == h.value;
        break;
      case config::HeaderExpectation::Op::kContains:
        ok = value.find(h.value) != std::string_view::npos;
        break;
      case config::HeaderExpectation::Op::kRegex:
        ok = SafeSearch(value, *h.regex).value_or(false);
        break;
    }
    if (!ok) {
      return ExpectationFailure{Reason::kExpectation, "header '" + h.name + "' is '" +
                                                          quote(value) + "', which does not match"};
    }
  }
  if (expect.body_contains && response.body.find(*expect.body_contains) == std::string::npos) {
    return ExpectationFailure{Reason::kExpectation,
                              "body does not contain '" + quote(*expect.body_contains) + "'"};
  }
  if (expect.body_regex) {
    const auto found = SafeSearch(response.body, *expect.body_regex);
    if (!found) {
      return ExpectationFailure{Reason::kExpectation,
                                "body_regex is too costly to evaluate on this body"};
    }
    if (!*found) {
      return ExpectationFailure{Reason::kExpectation, "body does not match body_regex '" +
                                                          quote(expect.body_regex_source) + "'"};
    }
  }
  if (!expect.json.empty()) {
    boost::system::error_code ec;
    const auto doc = boost::json::parse(response.body, ec);
    if (ec) {
      return ExpectationFailure{Reason::kExpectation, "body is not JSON: " + ec.message()};
    }
    for (const auto& j : expect.json) {
      boost::system::error_code pec;
      const auto* found = doc.find_pointer(j.pointer, pec);
      if (found == nullptr) {
        return ExpectationFailure{Reason::kExpectation,
                                  "JSON Pointer '" + quote(j.pointer) + "' not found"};
      }
      if (j.equals && !JsonEqual(*found, *j.equals)) {
        return ExpectationFailure{Reason::kExpectation,
                                  "JSON Pointer '" + quote(j.pointer) + "' is " +
                                      quote(boost::json::serialize(*found)) + ", expected " +
                                      quote(boost::json::serialize(*j.equals))};
      }
    }
  }
  return std::nullopt;
}

}  // namespace sloprobe::probes
