#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http/fields.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "probes/cookies.hpp"
#include "probes/result.hpp"
#include "probes/tls_contexts.hpp"

namespace sloprobe::probes {

struct HttpResponse {
  int status = 0;
  boost::beast::http::fields headers;
  std::string body;
};

struct FetchResult {
  Reason reason = Reason::kOk;
  std::string detail;
  PhaseTimings phases;
  std::optional<HttpResponse> response;  // set whenever a complete response arrived
  std::optional<std::int64_t> cert_not_after;
};

// An HTTP/1.1 client for one probe (or one scenario step): TCP or TLS, phase
// timings, one deadline for everything, limits on headers and body, optional
// keep-alive and redirects.
//
// Not thread-safe: use it from the executor it was made with. Concurrent
// Fetch calls on that executor are fine (each takes its own connection).
class HttpClient {
 public:
  // `https` says whether the probe's own URL needs TLS: then the TLS context
  // is set up now, and this throws std::runtime_error if its trust settings
  // cannot be loaded. Otherwise it is set up on the first redirect to https.
  HttpClient(boost::asio::any_io_executor executor, const config::TlsConfig& tls,
             std::shared_ptr<TlsContexts> contexts, bool https);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Never throws for anything the server or the network does; all of that is
  // classified in the result. With a `jar`, every hop (redirects included)
  // sends the jar's cookies for its URL and stores what the response sets.
  boost::asio::awaitable<FetchResult> Fetch(const config::HttpRequest& request,
                                            Clock::time_point deadline, CookieJar* jar = nullptr);

  struct Connection;

 private:
  boost::asio::awaitable<void> FetchOnce(const config::HttpRequest& request,
                                         const boost::urls::url_view& url,
                                         const std::vector<config::Header>& headers,
                                         std::string_view method, std::string_view body,
                                         Clock::time_point deadline, FetchResult& out);
  boost::asio::awaitable<std::unique_ptr<Connection>> Connect(const boost::urls::url_view& url,
                                                              Clock::time_point deadline,
                                                              FetchResult& out);

  boost::asio::any_io_executor executor_;
  config::TlsConfig tls_;
  std::shared_ptr<TlsContexts> contexts_;
  std::shared_ptr<boost::asio::ssl::context> ssl_;  // null until first needed
  std::vector<std::unique_ptr<Connection>> idle_;
};

// The bytes of an HTTP/1.1 request. Configured headers replace the default
// Host and User-Agent (compared case-insensitively); Content-Length and
// Connection always come from the body and `keep_alive`. Header values were
// checked for line breaks when the config was loaded.
std::string SerializeRequest(std::string_view method, std::string_view target,
                             std::string_view host, const std::vector<config::Header>& headers,
                             std::string_view body, bool keep_alive);

}  // namespace sloprobe::probes
