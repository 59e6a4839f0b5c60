#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "probes/common/cookies.hpp"
#include "probes/common/result.hpp"
#include "probes/common/tls_contexts.hpp"

namespace sloprobe::probes {

struct HttpResponse {
  int status = 0;
  boost::beast::http::fields headers;
  std::string body;
  int redirects = 0;  // redirects followed to get here
};

// Takes a response body while it arrives, instead of having it collected.
// Used by streaming probes; every call happens inside Fetch, on its executor.
class BodySink {
 public:
  virtual ~BodySink() = default;
  // The headers of a response are complete. `sent` is when the request was
  // handed to the socket, `first_byte` when the read that brought the first
  // response byte returned. Return true to take this response's body
  // through Data (the response's `body` then stays empty), false to have it
  // collected as usual (an error status, a redirect). Called again for each
  // redirect hop.
  virtual bool Begin(const HttpResponse& head, Clock::time_point sent,
                     Clock::time_point first_byte) = 0;
  // Body bytes (chunked framing removed) that one read brought; `at` is
  // when that read returned. Return false to stop reading: the body said it
  // is over, and the connection is closed rather than drained.
  virtual bool Data(std::string_view bytes, Clock::time_point at) = 0;
  // The body ended: the message is complete, or the connection was closed
  // where that ends the body. `at` is when the read that showed it returned.
  // Not called when the read fails (timeout, reset, truncation).
  virtual void End(Clock::time_point at) = 0;
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
  // With a `sink`, bodies it accepts are handed to it as they arrive.
  boost::asio::awaitable<FetchResult> Fetch(const config::HttpRequest& request,
                                            Clock::time_point deadline, CookieJar* jar = nullptr,
                                            BodySink* sink = nullptr);

  // A connection: TCP, and TLS over it for https and wss.
  struct Connection {
    std::string origin;
    std::optional<boost::beast::tcp_stream> plain;
    std::optional<boost::beast::ssl_stream<boost::beast::tcp_stream>> secure;
    boost::beast::flat_buffer buffer;

    boost::beast::tcp_stream& Lowest() {
      return secure ? boost::beast::get_lowest_layer(*secure) : *plain;
    }
  };

  // Resolves, connects and (for https and wss) completes the TLS handshake
  // to `url`'s host by `deadline`, timing each phase into `out.phases`. On
  // failure returns null with `out.reason` and `out.detail` set. For
  // protocols other than HTTP/1.1 over the same connection (WebSocket).
  boost::asio::awaitable<std::unique_ptr<Connection>> Connect(const boost::urls::url_view& url,
                                                              Clock::time_point deadline,
                                                              FetchResult& out);

 private:
  boost::asio::awaitable<void> FetchOnce(const config::HttpRequest& request,
                                         const boost::urls::url_view& url,
                                         const std::vector<config::Header>& headers,
                                         std::string_view method, std::string_view body,
                                         Clock::time_point deadline, BodySink* sink,
                                         FetchResult& out);
  boost::asio::any_io_executor executor_;
  config::TlsConfig tls_;
  std::shared_ptr<TlsContexts> contexts_;
  std::shared_ptr<boost::asio::ssl::context> ssl_;  // null until first needed
  std::vector<std::unique_ptr<Connection>> idle_;
};

inline constexpr std::string_view kUserAgent = "sloprobe/0.1";

// Whether `url` is https or wss.
bool UsesTls(const boost::urls::url_view& url);

// The Host header for `url`: its host, and the port when it is not the
// scheme's default.
std::string HostHeader(const boost::urls::url_view& url);

// The request target: path and query, "/" for an empty path.
std::string RequestTarget(const boost::urls::url_view& url);

// Whether a failed operation ran out of the run's time.
bool IsTimeout(const boost::system::error_code& ec);

// The request line and headers of an HTTP/1.1 request; the body is sent
// after them as it is, never copied behind them (an OTLP export can be tens
// of megabytes). Configured headers replace the default Host and User-Agent
// (compared case-insensitively); Content-Length and Connection always come
// from the body and `keep_alive`. Header values were checked for line breaks
// when the config was loaded.
std::string SerializeRequest(std::string_view method, std::string_view target,
                             std::string_view host, const std::vector<config::Header>& headers,
                             std::string_view body, bool keep_alive);

}  // namespace sloprobe::probes
