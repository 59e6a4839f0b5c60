// Response handling: raw bytes from a server through the HTTP parser with
// sloprobe's limits, then the probe's expectations and Retry-After.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/loader.hpp"
#include "probes/common/expect.hpp"
#include "probes/common/http_client.hpp"

namespace {

namespace http = boost::beast::http;
using namespace sloprobe;

const config::Expectations& Expect() {
  static const auto expect = [] {
    const auto loaded = config::LoadConfigString(R"yaml(probes:
  - name: p
    type: http
    request: {url: "http://h/"}
    expect:
      status: [200, 204, "3xx"]
      headers: {Content-Type: {contains: json}, X-Id: {regex: "^[a-z]+$"}}
      body_contains: ok
      body_regex: "\"status\": *\"(ok|up)\""
      json: [{pointer: /status, equals: ok}, {pointer: /checks/0}]
)yaml",
                                                 "fuzz.yml");
    if (!loaded.config) std::abort();
    return loaded.config->probes.at(0).expect;
  }();
  return expect;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  http::response_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(64 * 1024);
  parser.eager(true);
  boost::system::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  if (ec || !parser.is_done()) return 0;
  const auto& res = parser.get();
  probes::HttpResponse response;
  response.status = static_cast<int>(res.result_int());
  response.headers = res.base();
  response.body = res.body();
  const auto failure = probes::CheckResponse(response, Expect());
  if (failure && failure->detail.empty()) std::abort();
  // Details quote the server only through Excerpt: bounded and printable.
  if (failure) {
    for (char c : failure->detail) {
      if (static_cast<unsigned char>(c) < 0x20) std::abort();
    }
  }
  if (auto delay = probes::RateLimitDelay(response); delay && delay->count() < 0) std::abort();
  return 0;
}
