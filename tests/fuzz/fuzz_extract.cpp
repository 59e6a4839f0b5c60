// Extraction and interpolation: values taken from a response by JSON
// Pointer, header and regex, then written into JSON, URL and form text.
// Input: a status byte, a header value, then the body (split at the first
// two NULs).
#include <boost/json/parse.hpp>
#include <boost/url/decode_view.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/loader.hpp"
#include "config/template.hpp"
#include "probes/common/http_client.hpp"
#include "probes/common/variables.hpp"

namespace {

using namespace sloprobe;

// The extractions of one scenario step, as the loader builds them.
const std::vector<config::Extraction>& Extractions() {
  static const auto extractions = [] {
    const auto loaded = config::LoadConfigString(R"yaml(probes:
  - name: s
    type: scenario
    steps:
      - name: a
        request: {url: "http://h/"}
        extract:
          token: {json: /access_token}
          nested: {json: /data/0/id}
          whole: {json: ""}
          header: {header: X-Token, regex: "^Bearer (.+)$"}
          body: {regex: "id=([0-9a-f-]+)"}
          status: {status: true}
)yaml",
                                                 "fuzz.yml");
    if (!loaded.config) std::abort();
    return loaded.config->probes.at(0).steps.at(0).extract;
  }();
  return extractions;
}

// A JSON text is valid JSON only as UTF-8; the escape must make any value
// a string that parses back to the value.
void CheckJsonEscape(std::string_view value) {
  const std::string text = "\"" + config::Escaped(value, config::Template::Escape::kJson) + "\"";
  boost::system::error_code ec;
  const auto parsed = boost::json::parse(text, ec);
  if (ec) return;  // invalid UTF-8 stays invalid; the request is still sent as bytes
  if (!parsed.is_string() || parsed.as_string() != value) std::abort();
}

void CheckUrlEscape(std::string_view value, config::Template::Escape escape) {
  const std::string encoded = config::Escaped(value, escape);
  // What goes out as it is: RFC 3986 unreserved characters for URLs, the
  // WHATWG set (and '+' for a space) for forms; everything else as %XX.
  const std::string_view plain = escape == config::Template::Escape::kForm ? "*-._+%" : "-._~%";
  for (char c : encoded) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && plain.find(c) == std::string_view::npos) {
      std::abort();
    }
  }
  boost::urls::decode_view decoded(encoded, {escape == config::Template::Escape::kForm});
  if (std::string(decoded.begin(), decoded.end()) != value) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto cut = input.find('\0');
  const std::string_view header = input.substr(0, cut);
  const std::string_view body = cut == std::string_view::npos ? "" : input.substr(cut + 1);

  probes::HttpResponse response;
  response.status = 100 + data[0] * 2;
  if (config::ValidHeaderValue(header)) response.headers.set("X-Token", header);
  response.body = std::string(body);
  probes::Variables vars;
  const auto failure = probes::ExtractAll(Extractions(), response, vars);
  if (failure && failure->empty()) std::abort();
  (void)probes::JsonNumber(body, "/expires_in");
  for (const auto& [name, value] : vars) {
    CheckJsonEscape(value);
    CheckUrlEscape(value, config::Template::Escape::kUrl);
    CheckUrlEscape(value, config::Template::Escape::kForm);
  }
  CheckJsonEscape(body);
  CheckUrlEscape(header, config::Template::Escape::kUrl);
  return 0;
}
