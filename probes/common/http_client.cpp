#include "probes/common/http_client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>
#include <ctime>
#include <stdexcept>

namespace sloprobe::probes {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

bool UsesTls(const boost::urls::url_view& url) {
  return url.scheme_id() == boost::urls::scheme::https ||
         url.scheme_id() == boost::urls::scheme::wss;
}

bool IsTimeout(const boost::system::error_code& ec) {
  return ec == boost::beast::error::timeout || ec == boost::asio::error::timed_out;
}

std::string RequestTarget(const boost::urls::url_view& url) {
  const auto target = url.encoded_target();
  return target.empty() ? std::string("/") : std::string(target);
}

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxIdleConnections = 8;

std::string OriginOf(const boost::urls::url_view& url, std::uint16_t port) {
  std::string origin(url.scheme());
  origin += "://";
  origin += url.encoded_host();
  origin += ':';
  origin += std::to_string(port);
  return origin;
}

std::uint16_t PortOf(const boost::urls::url_view& url) {
  if (url.has_port()) return url.port_number();
  return UsesTls(url) ? 443 : 80;
}

}  // namespace

std::string HostHeader(const boost::urls::url_view& url) {
  std::string host(url.encoded_host());
  const auto port = PortOf(url);
  if (port != (UsesTls(url) ? 443 : 80)) host += ":" + std::to_string(port);
  return host;
}

namespace {

// The host as a resolver or SNI wants it: IPv6 literals without brackets.
std::string HostOf(const boost::urls::url_view& url) {
  if (url.host_type() == boost::urls::host_type::ipv6) {
    return std::string(url.encoded_host_address());
  }
  return url.host_address();
}

bool IsPeerClosed(const error_code& ec) {
  return ec == asio::error::eof || ec == http::error::end_of_stream ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == ssl::error::stream_truncated;
}

void Fail(FetchResult& out, Reason reason, std::string detail) {
  out.reason = reason;
  out.detail = std::move(detail);
}

std::string TlsDetail(const error_code& ec, SSL* handle) {
  const long verify = SSL_get_verify_result(handle);
  if (verify != X509_V_OK) {
    return std::string("certificate verification failed: ") + X509_verify_cert_error_string(verify);
  }
  return "TLS handshake failed: " + ec.message();
}

// Seconds since the Unix epoch of the peer certificate's notAfter.
std::optional<std::int64_t> CertificateNotAfter(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return std::nullopt;
  std::optional<std::int64_t> out;
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1) out = timegm(&tm);
  X509_free(cert);
  return out;
}

}  // namespace

std::string SerializeRequest(std::string_view method, std::string_view target,
                             std::string_view host, const std::vector<config::Header>& headers,
                             std::string_view body, bool keep_alive) {
  auto overridden = [&](std::string_view name) {
    return std::any_of(headers.begin(), headers.end(),
                       [&](const config::Header& h) { return beast::iequals(h.name, name); });
  };
  const bool with_body = !body.empty() || method == "POST" || method == "PUT" || method == "PATCH";
  std::string out;
  out.reserve(128 + target.size());
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
  if (!overridden("host")) out.append("Host: ").append(host).append("\r\n");
  if (!overridden("user-agent")) out.append("User-Agent: ").append(kUserAgent).append("\r\n");
  for (const auto& h : headers) {
    // Framing and connection handling are the client's, not the config's.
    if (beast::iequals(h.name, "content-length") || beast::iequals(h.name, "connection") ||
        beast::iequals(h.name, "transfer-encoding")) {
      continue;
    }
    out.append(h.name).append(": ").append(h.value).append("\r\n");
  }
  if (with_body) out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  out.append(keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n");
  return out;
}

void PhaseTimings::Add(const PhaseTimings& other) {
  auto add = [](std::optional<Duration>& a, const std::optional<Duration>& b) {
    if (b) a = a.value_or(Duration::zero()) + *b;
  };
  add(resolve, other.resolve);
  add(connect, other.connect);
  add(tls, other.tls);
  add(ttfb, other.ttfb);
  add(transfer, other.transfer);
  add(upgrade, other.upgrade);
}

HttpClient::HttpClient(asio::any_io_executor executor, const config::TlsConfig& tls,
                       std::shared_ptr<TlsContexts> contexts, bool https)
    : executor_(std::move(executor)), tls_(tls), contexts_(std::move(contexts)) {
  if (https) ssl_ = contexts_->Get(tls_);
}

HttpClient::~HttpClient() = default;

asio::awaitable<std::unique_ptr<HttpClient::Connection>> HttpClient::Connect(
    const boost::urls::url_view& url, Clock::time_point deadline, FetchResult& out) {
  const bool https = UsesTls(url);
  const std::string host = HostOf(url);
  const std::uint16_t port = PortOf(url);

  // Resolve. IP literals skip the resolver (and its helper thread).
  auto started = Clock::now();
  std::vector<tcp::endpoint> endpoints;
  error_code ec;
  const auto literal = asio::ip::make_address(host, ec);
  if (!ec) {
    endpoints.emplace_back(literal, port);
  } else {
    // getaddrinfo cannot be interrupted, so the lookup reports into shared
    // state and the run waits on the deadline timer: a hung resolver costs
    // this run its timeout, never more.
    struct Lookup {
      explicit Lookup(const asio::any_io_executor& ex, Clock::time_point at)
          : resolver(ex), timer(ex, at) {}
      tcp::resolver resolver;
      asio::steady_timer timer;
      bool done = false;
      error_code ec;
      tcp::resolver::results_type results;
    };
    auto lookup = std::make_shared<Lookup>(executor_, deadline);
    lookup->resolver.async_resolve(host, std::to_string(port),
                                   [lookup](error_code e, tcp::resolver::results_type r) {
                                     lookup->done = true;
                                     lookup->ec = e;
                                     lookup->results = std::move(r);
                                     lookup->timer.cancel();
                                   });
    co_await lookup->timer.async_wait(kTuple);
    if (!lookup->done) {
      lookup->resolver.cancel();
      Fail(out, Reason::kTimeout, "timed out resolving '" + host + "'");
      co_return nullptr;
    }
    if (lookup->ec) {
      Fail(out, Reason::kDns, "cannot resolve '" + host + "': " + lookup->ec.message());
      co_return nullptr;
    }
    for (const auto& entry : lookup->results) endpoints.push_back(entry.endpoint());
  }
  out.phases.resolve = Clock::now() - started;

  beast::tcp_stream stream(executor_);
  stream.expires_at(deadline);
  started = Clock::now();
  auto [cec, endpoint] = co_await stream.async_connect(endpoints, kTuple);
  if (cec) {
    if (IsTimeout(cec)) {
      Fail(out, Reason::kTimeout, "timed out connecting to port " + std::to_string(port));
    } else {
      Fail(out, Reason::kConnect,
           "cannot connect to port " + std::to_string(port) + ": " + cec.message());
    }
    co_return nullptr;
  }
  out.phases.connect = Clock::now() - started;
  stream.socket().set_option(tcp::no_delay(true), ec);

  auto conn = std::make_unique<Connection>();
  conn->origin = OriginOf(url, port);
  if (!https) {
    conn->plain.emplace(std::move(stream));
    co_return conn;
  }

  if (!ssl_) {
    try {
      ssl_ = contexts_->Get(tls_);
    } catch (const std::exception& e) {
      Fail(out, Reason::kTls, e.what());
      co_return nullptr;
    }
  }
  conn->secure.emplace(std::move(stream), *ssl_);
  auto& tls = *conn->secure;
  const std::string name = tls_.server_name.empty() ? host : tls_.server_name;
  error_code ip_ec;
  asio::ip::make_address(name, ip_ec);
  // SNI carries host names only (RFC 6066 section 3).
  if (ip_ec && SSL_set_tlsext_host_name(tls.native_handle(), name.c_str()) != 1) {
    Fail(out, Reason::kTls, "cannot set the TLS server name");
    co_return nullptr;
  }
  if (!tls_.insecure_skip_verify) tls.set_verify_callback(ssl::host_name_verification(name));
  started = Clock::now();
  auto [hec] = co_await tls.async_handshake(ssl::stream_base::client, kTuple);
  if (hec) {
    if (IsTimeout(hec)) {
      Fail(out, Reason::kTimeout, "timed out in the TLS handshake");
    } else {
      Fail(out, Reason::kTls, TlsDetail(hec, tls.native_handle()));
    }
    co_return nullptr;
  }
  out.phases.tls = Clock::now() - started;
  out.cert_not_after = CertificateNotAfter(tls.native_handle());
  co_return conn;
}

namespace {

// One request and its response on an open connection, read by hand so
// that every piece of the body carries the time of the read that brought it.
// Sets `stale` when the connection turned out closed before any response
// byte, which on a reused keep-alive connection means "try a fresh one", not
// a failure.
template <class Stream>
asio::awaitable<void> Exchange(Stream& stream, beast::tcp_stream& lowest,
                               beast::flat_buffer& buffer, std::string_view wire,
                               std::string_view request_body, bool head,
                               const config::HttpRequest& options, Clock::time_point deadline,
                               BodySink* sink, FetchResult& out, bool& reusable, bool& stale) {
  lowest.expires_at(deadline);
  const auto t0 = Clock::now();
  const std::array<asio::const_buffer, 2> request{asio::buffer(wire), asio::buffer(request_body)};
  auto [wec, written] = co_await asio::async_write(stream, request, kTuple);
  if (wec) {
    if (IsTimeout(wec)) {
      Fail(out, Reason::kTimeout, "timed out sending the request");
    } else {
      stale = IsPeerClosed(wec);
      Fail(out, Reason::kProtocol, "connection closed while sending the request: " + wec.message());
    }
    co_return;
  }

  http::response_parser<http::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
  parser.body_limit(options.body_limit);
  parser.eager(true);
  if (head) parser.skip(true);
  std::optional<Clock::time_point> first_byte;
  Clock::time_point at{};
  bool begun = false;          // the sink has seen the headers
  bool streaming = false;      // ... and takes this body
  bool stopped = false;        // ... and has said it is over
  std::uint64_t streamed = 0;  // body bytes handed to the sink
  auto body_bytes = [&] { return streamed + parser.get().body().size(); };
  auto failed = [&](const error_code& ec) {
    if (ec == http::error::body_limit) {
      Fail(out, Reason::kBodyTooLarge,
           "response body larger than the limit of " + std::to_string(options.body_limit) +
               " bytes");
    } else if (ec == http::error::header_limit) {
      Fail(out, Reason::kProtocol,
           "response headers larger than the limit of " + std::to_string(options.header_limit) +
               " bytes");
    } else if (parser.is_header_done() &&
               (IsPeerClosed(ec) || ec == http::error::partial_message)) {
      Fail(out, Reason::kTruncated,
           "response body cut off after " + std::to_string(body_bytes()) +
               " bytes: " + ec.message());
    } else if (IsPeerClosed(ec) || ec == http::error::partial_message) {
      Fail(out, Reason::kProtocol, "connection closed inside the response headers");
    } else {
      Fail(out, Reason::kProtocol, "invalid HTTP response: " + ec.message());
    }
  };

  while (!parser.is_done() && !stopped) {
    auto [rec, n] = co_await stream.async_read_some(buffer.prepare(std::size_t{16} * 1024), kTuple);
    at = Clock::now();
    buffer.commit(n);
    if (n == 0) {
      if (IsTimeout(rec)) {
        Fail(out, Reason::kTimeout,
             !first_byte               ? "timed out waiting for the response"
             : parser.is_header_done() ? "timed out reading the response body"
                                       : "timed out reading the response headers");
        co_return;
      }
      if (!first_byte) {
        stale = true;
        Fail(out, Reason::kProtocol,
             "connection closed before the response: " + (rec ? rec.message() : "no data"));
        co_return;
      }
      // The end of the connection ends a body without a length.
      error_code eof;
      if (IsPeerClosed(rec)) parser.put_eof(eof);
      if (!IsPeerClosed(rec) || eof) {
        failed(eof ? eof : rec);
        co_return;
      }
      break;
    }
    if (!first_byte) {
      first_byte = at;
      out.phases.ttfb = at - t0;
    }
    while (buffer.size() > 0 && !parser.is_done()) {
      error_code ec;
      const auto used = parser.put(buffer.data(), ec);
      buffer.consume(used);
      // need_more can follow body bytes (a chunk, then half the next chunk's
      // header): those bytes are handed on before reading more.
      const bool need_more = ec == http::error::need_more;
      if (ec && !need_more) {
        failed(ec);
        co_return;
      }
      if (sink != nullptr && !begun && parser.is_header_done()) {
        begun = true;
        HttpResponse response;
        response.status = static_cast<int>(parser.get().result_int());
        response.headers = parser.get().base();
        streaming = sink->Begin(response, t0, *first_byte);
      }
      if (streaming && !parser.get().body().empty()) {
        auto& body = parser.get().body();
        streamed += body.size();
        stopped = !sink->Data(body, at);
        body.clear();
        if (stopped) break;
      }
      if (need_more || used == 0) break;
    }
  }
  if (streaming) sink->End(at);
  out.phases.transfer = at - *first_byte;
  auto& message = parser.get();
  reusable = parser.is_done() && message.keep_alive() && !parser.need_eof();
  HttpResponse response;
  response.status = static_cast<int>(message.result_int());
  response.headers = std::move(message.base());  // keep_alive() was read above
  response.body = std::move(message.body());
  out.response = std::move(response);
}

void Close(HttpClient::Connection& conn) {
  error_code ignored;
  // No TLS close_notify round trip: the probe is over, and waiting for the
  // peer would spend time (and a timer) on nothing it measures.
  // close() sends the FIN; a shutdown() first would only add a syscall.
  conn.Lowest().socket().close(ignored);
}

}  // namespace

asio::awaitable<void> HttpClient::FetchOnce(const config::HttpRequest& options,
                                            const boost::urls::url_view& url,
                                            const std::vector<config::Header>& headers,
                                            std::string_view method, std::string_view body,
                                            Clock::time_point deadline, BodySink* sink,
                                            FetchResult& out) {
  const std::uint16_t port = PortOf(url);
  const std::string wire = SerializeRequest(method, RequestTarget(url), HostHeader(url), headers,
                                            body, options.keep_alive);
  const bool head = method == "HEAD";

  const std::string origin = OriginOf(url, port);
  std::unique_ptr<Connection> conn;
  for (auto it = idle_.begin(); it != idle_.end(); ++it) {
    if ((*it)->origin == origin) {
      conn = std::move(*it);
      idle_.erase(it);
      break;
    }
  }
  bool reused = conn != nullptr;
  for (;;) {
    if (!conn) {
      conn = co_await Connect(url, deadline, out);
      if (!conn) co_return;
    }
    bool reusable = false;
    bool stale = false;
    FetchResult attempt;
    conn->buffer.clear();
    if (conn->secure) {
      co_await Exchange(*conn->secure, conn->Lowest(), conn->buffer, wire, body, head, options,
                        deadline, sink, attempt, reusable, stale);
    } else {
      co_await Exchange(*conn->plain, conn->Lowest(), conn->buffer, wire, body, head, options,
                        deadline, sink, attempt, reusable, stale);
    }
    if (reused && stale && Clock::now() < deadline) {
      // The server closed the idle connection; one fresh attempt, as any
      // HTTP client does. Its connect phases are measured as usual.
      conn.reset();
      reused = false;
      continue;
    }
    out.phases.Add(attempt.phases);
    out.reason = attempt.reason;
    out.detail = std::move(attempt.detail);
    out.response = std::move(attempt.response);
    if (attempt.reason == Reason::kOk && options.keep_alive && reusable &&
        idle_.size() < kMaxIdleConnections) {
      // A parked connection holds no read buffer (16 KiB each, 160 MB for
      // 10,000 probes): the next exchange allocates one again.
      if (conn->buffer.size() == 0) conn->buffer.shrink_to_fit();
      idle_.push_back(std::move(conn));
    } else {
      Close(*conn);
    }
    co_return;
  }
}

asio::awaitable<FetchResult> HttpClient::Fetch(const config::HttpRequest& request,
                                               Clock::time_point deadline, CookieJar* jar,
                                               BodySink* sink) {
  FetchResult out;
  // The first hop sends the configured request as it is. Only a redirect
  // changes it, and only then are these owned copies made.
  std::optional<boost::urls::url> redirected_url;
  std::optional<std::vector<config::Header>> redirected_headers;
  boost::urls::url_view url = request.url;
  std::string_view method = request.method;
  std::string_view body = request.body;
  const std::vector<config::Header>* headers = &request.headers;
  std::vector<config::Header> with_cookies;
  for (int hop = 0;; ++hop) {
    const std::vector<config::Header>* sent = headers;
    if (jar != nullptr) {
      if (auto cookies = jar->HeaderFor(url, std::chrono::system_clock::now()); !cookies.empty()) {
        // One Cookie header (RFC 6265 section 5.4): a configured one first.
        with_cookies = *headers;
        auto it = std::find_if(with_cookies.begin(), with_cookies.end(),
                               [](const auto& h) { return beast::iequals(h.name, "cookie"); });
        if (it == with_cookies.end()) {
          with_cookies.push_back({"Cookie", std::move(cookies)});
        } else {
          it->value += "; " + cookies;
        }
        sent = &with_cookies;
      }
    }
    FetchResult result;
    co_await FetchOnce(request, url, *sent, method, body, deadline, sink, result);
    if (jar != nullptr && result.response) {
      jar->Store(url, result.response->headers, std::chrono::system_clock::now());
    }
    out.phases.Add(result.phases);
    out.reason = result.reason;
    out.detail = std::move(result.detail);
    out.response = std::move(result.response);
    if (result.cert_not_after) out.cert_not_after = result.cert_not_after;
    if (out.response) out.response->redirects = hop;
    if (out.reason != Reason::kOk || hop >= request.follow_redirects) break;
    const int status = out.response->status;
    if (status != 301 && status != 302 && status != 303 && status != 307 && status != 308) break;
    const auto location = out.response->headers[http::field::location];
    if (location.empty()) break;
    auto ref = boost::urls::parse_uri_reference(location);
    boost::urls::url next(url);
    if (!ref || !next.resolve(*ref) ||
        (next.scheme_id() != boost::urls::scheme::http &&
         next.scheme_id() != boost::urls::scheme::https) ||
        next.encoded_host().empty()) {
      Fail(out, Reason::kProtocol, "redirect to an invalid Location");
      out.response.reset();
      break;
    }
    next.remove_fragment();
    if (!redirected_headers) redirected_headers = request.headers;
    if (OriginOf(next, PortOf(next)) != OriginOf(url, PortOf(url))) {
      // Credentials are for the origin they were configured for.
      std::erase_if(*redirected_headers, [](const config::Header& h) {
        return beast::iequals(h.name, "authorization") || beast::iequals(h.name, "cookie") ||
               beast::iequals(h.name, "proxy-authorization");
      });
    }
    if (status == 303 || ((status == 301 || status == 302) && method == "POST")) {
      method = "GET";
      body = {};
      std::erase_if(*redirected_headers,
                    [](const config::Header& h) { return beast::iequals(h.name, "content-type"); });
    }
    headers = &*redirected_headers;
    redirected_url = std::move(next);
    url = *redirected_url;
  }
  co_return out;
}

}  // namespace sloprobe::probes
