#include "daemon/http_server.hpp"

#include <sys/socket.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include <cerrno>
#include <charconv>
#include <list>

#include "daemon/log.hpp"
#include "daemon/web_security.hpp"

namespace sloprobe::daemon {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
// Remembered matching credentials per version of the web configuration.
constexpr std::size_t kMaxVerified = 1024;

// These run on the worker. Plain functions, not lambdas: the arguments live
// in the coroutine frame.
asio::awaitable<bool> CheckPassword(std::string password, std::string hash) {
  co_return BcryptMatches(password, hash);
}

struct Piece {
  std::string text;
  bool more = false;
  std::optional<std::string> error;  // the producer threw
};
using Producer = std::function<bool(std::string&)>;

// The next piece of a streamed body, made in `storage` (a piece already
// sent, so that its memory serves again instead of being given back and
// faulted in anew for each one). The frame holds the producer, so it lives
// until the worker is done with it even if the connection is gone.
asio::awaitable<Piece> NextPiece(std::shared_ptr<Producer> producer, std::string storage = {}) {
  Piece p;
  storage.clear();
  p.text = std::move(storage);
  try {
    p.more = (*producer)(p.text);
  } catch (const std::exception& e) {
    p.error = e.what();
  }
  co_return p;
}
}  // namespace

std::string EndpointText(const tcp::endpoint& endpoint) {
  const auto host = endpoint.address().to_string();
  const auto port = std::to_string(endpoint.port());
  return endpoint.address().is_v6() ? "[" + host + "]:" + port : host + ":" + port;
}

std::optional<tcp::endpoint> ParseListenAddress(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || p != port_text.data() + port_text.size() || port > 65535 ||
      port_text.empty()) {
    return std::nullopt;
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  boost::system::error_code aec;
  asio::ip::address address = host.empty() ? asio::ip::address(asio::ip::address_v6::any())
                                           : asio::ip::make_address(std::string(host), aec);
  if (host == "localhost") {
    address = asio::ip::address_v4::loopback();
    aec.clear();
  }
  if (aec) return std::nullopt;
  return tcp::endpoint(address, static_cast<std::uint16_t>(port));
}

struct HttpServer::State : std::enable_shared_from_this<HttpServer::State> {
  State(asio::any_io_executor ex, Handler h, Limits l)
      : executor(std::move(ex)), acceptor(executor), handler(std::move(h)), limits(l) {}

  asio::any_io_executor executor;
  tcp::acceptor acceptor;
  Handler handler;
  Limits limits;
  bool stopped = false;
  std::list<beast::tcp_stream*> sessions;
  std::size_t connections = 0;            // accepted and not yet ended
  std::shared_ptr<WebConfigWatcher> web;  // null: plain HTTP, no authentication
  asio::any_io_executor worker;           // HttpServer::worker_pool_

  asio::awaitable<void> Accept() {
    auto self = shared_from_this();
    while (!stopped) {
      auto [ec, socket] = co_await acceptor.async_accept(kTuple);
      if (stopped) break;
      if (ec) {
        if (ec == asio::error::operation_aborted) break;
        continue;  // e.g. EMFILE: keep serving the connections we have
      }
      // Counted here, not when the session starts, so that a burst of
      // connections cannot slip past the limit before their sessions run.
      if (connections >= limits.max_connections) {
        boost::system::error_code ignored;
        socket.close(ignored);
        continue;
      }
      ++connections;
      asio::co_spawn(executor, Session(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> Session(tcp::socket socket) {
    auto self = shared_from_this();
    beast::tcp_stream stream(std::move(socket));
    // Listed for Stop() exactly as long as the stream lives, however the
    // session ends.
    struct Registration {
      State& state;
      std::list<beast::tcp_stream*>::iterator it;
      ~Registration() {
        state.sessions.erase(it);
        --state.connections;
      }
    } registered{*this, sessions.insert(sessions.end(), &stream)};
    beast::flat_buffer buffer(limits.header_limit + limits.body_limit);
    const auto policy = web ? web->Current() : nullptr;
    if (!policy || !policy->tls) {
      co_await Serve(stream, stream, buffer);
    } else {
      // A TLS record starts with 0x16; anything else is most likely plain
      // HTTP sent to the TLS port, and gets told so the way Go's servers
      // (and so the exporters beside sloprobe) tell it.
      stream.expires_after(limits.handshake_timeout);
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(1024), kTuple);
      buffer.commit(n);
      if (ec || n == 0) co_return;
      if (static_cast<const unsigned char*>(buffer.data().data())[0] != 0x16) {
        static constexpr std::string_view kPlain =
            "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";
        co_await asio::async_write(stream, asio::buffer(kPlain), kTuple);
        co_return;
      }
      asio::ssl::stream<beast::tcp_stream&> tls(stream, *policy->tls);
      auto [hec, used] =
          co_await tls.async_handshake(asio::ssl::stream_base::server, buffer.data(), kTuple);
      if (hec) co_return;
      buffer.consume(used);
      const auto& sans = policy->config.tls->client_allowed_sans;
      if (!sans.empty() && !ClientSanAllowed(tls.native_handle(), sans)) co_return;
      co_await Serve(tls, stream, buffer);
      // close_notify: without it a client cannot tell the end of a body
      // that the connection ends (HTTP/1.0) from a cut-off one. Bounded:
      // it also waits for the client's own close_notify.
      if (stream.socket().is_open()) {
        stream.expires_after(std::chrono::seconds(1));
        co_await tls.async_shutdown(kTuple);
      }
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.close();
  }

  // Whether the request carries the credentials of a configured user. The
  // bcrypt comparison runs on the server's own worker thread, never on the
  // probes'.
  asio::awaitable<bool> Authorized(const Request& request, WebPolicy& policy) {
    const auto header = request.find(http::field::authorization);
    if (header == request.end()) co_return false;
    auto credentials = ParseBasicAuthorization(header->value());
    if (!credentials) co_return false;
    const auto user = policy.config.basic_auth_users.find(credentials->user);
    const bool known = user != policy.config.basic_auth_users.end();
    std::string hash = known ? user->second : kUnknownUserHash;
    const auto key = CredentialKey(credentials->user, credentials->password, hash);
    if (known && policy.verified.count(key) != 0) co_return true;
    const bool match = co_await asio::co_spawn(
        worker, CheckPassword(std::move(credentials->password), std::move(hash)),
        asio::use_awaitable);
    if (!match || !known) co_return false;
    if (policy.verified.size() >= kMaxVerified) policy.verified.clear();
    policy.verified.insert(key);
    co_return true;
  }

  // After an error answer sent before the request was read to its end:
  // closing at once, with the client's bytes unread, would reset the
  // connection and could destroy the answer before the client reads it. So
  // end the sending side, then read and drop what still comes, bounded in
  // time and size.
  static asio::awaitable<void> Linger(beast::tcp_stream& stream) {
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.expires_after(std::chrono::seconds(2));
    std::array<char, 16 * 1024> scratch{};
    for (std::size_t total = 0; total < (std::size_t{4} << 20);) {
      auto [ec, n] = co_await stream.async_read_some(asio::buffer(scratch), kTuple);
      if (ec) break;
      total += n;
    }
  }

  // Sends `response`'s header, then each piece the producer makes as soon
  // as it is made: as one chunk each when `chunked` (HTTP/1.1), else as
  // they are, the end of the connection ending the body (HTTP/1.0). False
  // when the connection cannot go on: a write failed, or the producer failed
  // or the server stopped after the status was sent. A client then must not
  // take what it got for the whole body: a chunked one lacks its last chunk,
  // and a connection that ends the body is reset instead of closed.
  template <typename Stream>
  asio::awaitable<bool> WriteStreamed(Stream& stream, beast::tcp_stream& lowest,
                                      http::response<http::empty_body>& response,
                                      std::shared_ptr<Producer> producer, bool chunked) {
    http::response_serializer<http::empty_body> serializer{response};
    lowest.expires_after(limits.idle_timeout);
    auto [hec, header_bytes] = co_await http::async_write_header(stream, serializer, kTuple);
    if (hec) co_return false;
    // While one piece is being sent, the worker makes the next in the
    // storage of the one before.
    using namespace asio::experimental::awaitable_operators;
    auto piece = co_await asio::co_spawn(worker, NextPiece(producer), asio::use_awaitable);
    std::string spare;
    for (;;) {
      if (stopped || piece.error) {
        if (piece.error) LogWarn("cannot finish an answer", {{"error", *piece.error}});
        if (!chunked) Reset(lowest);
        co_return false;
      }
      if (!piece.more) {
        if (!piece.text.empty() && !co_await WritePiece(stream, lowest, piece.text, chunked)) {
          co_return false;
        }
        break;
      }
      if (piece.text.empty()) {  // an empty chunk would end the body
        piece = co_await asio::co_spawn(worker, NextPiece(producer, std::move(piece.text)),
                                        asio::use_awaitable);
        continue;
      }
      auto [sent, next] = co_await (
          WritePiece(stream, lowest, piece.text, chunked) &&
          asio::co_spawn(worker, NextPiece(producer, std::move(spare)), asio::use_awaitable));
      if (!sent) co_return false;
      spare = std::move(piece.text);
      piece = std::move(next);
    }
    if (!chunked) co_return true;
    lowest.expires_after(limits.idle_timeout);
    auto [lec, n] = co_await asio::async_write(stream, http::make_chunk_last(), kTuple);
    co_return !lec;
  }

  template <typename Stream>
  asio::awaitable<bool> WritePiece(Stream& stream, beast::tcp_stream& lowest,
                                   const std::string& text, bool chunked) {
    lowest.expires_after(limits.idle_timeout);
    auto [ec, n] =
        chunked ? co_await asio::async_write(stream, http::make_chunk(asio::buffer(text)), kTuple)
                : co_await asio::async_write(stream, asio::buffer(text), kTuple);
    co_return !ec;
  }

  // Ends the connection with a reset (SO_LINGER 0), not an orderly close.
  static void Reset(beast::tcp_stream& stream) {
    boost::system::error_code ignored;
    stream.socket().set_option(tcp::socket::linger(true, 0), ignored);
    stream.socket().close(ignored);
  }

  // Reads requests and answers them until the client or an error ends it.
  template <typename Stream>
  asio::awaitable<void> Serve(Stream& stream, beast::tcp_stream& lowest,
                              beast::flat_buffer& buffer) {
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(limits.header_limit);
      parser.body_limit(limits.body_limit);
      lowest.expires_after(limits.idle_timeout);
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, kTuple);
      if (ec) {
        // A client that closes an idle connection is normal; anything else
        // from the parser is a bad request and gets told so.
        const bool parse_error =
            ec.category() == http::make_error_code(http::error::bad_target).category() &&
            ec != http::error::end_of_stream && ec != http::error::partial_message;
        if (parse_error) {
          http::response<http::string_body> bad{
              ec == http::error::body_limit     ? http::status::payload_too_large
              : ec == http::error::header_limit ? http::status::request_header_fields_too_large
                                                : http::status::bad_request,
              11};
          bad.set(http::field::content_type, "text/plain; charset=utf-8");
          bad.body() = ec.message() + "\n";
          bad.keep_alive(false);
          bad.prepare_payload();
          lowest.expires_after(std::chrono::seconds(5));
          auto [wec, written] = co_await http::async_write(stream, bad, kTuple);
          if (!wec) co_await Linger(lowest);
        }
        break;
      }
      const auto& request = parser.get();
      // Authentication, rate limit and headers follow the web configuration
      // as it is now, also on a connection opened before it changed: a
      // removed user is out at the next request. (TLS stays as the
      // connection was set up.)
      const auto policy = web ? web->Current() : nullptr;
      Response r;
      std::optional<std::string_view> challenge;
      if (policy && !policy->TakeToken(std::chrono::steady_clock::now())) {
        r = {429, "text/plain; charset=utf-8", "Too Many Requests\n"};
      } else if (policy && !policy->config.basic_auth_users.empty() &&
                 !co_await Authorized(request, *policy)) {
        r = {401, "text/plain; charset=utf-8", "Unauthorized\n"};
        challenge = "Basic";
      } else {
        if (stopped) break;  // stopped while the password was checked
        r = handler(request);
      }
      auto head = [&](auto& response) {
        response.set(http::field::server, "sloprobe");
        response.set(http::field::content_type, r.content_type);
        if (challenge) response.set(http::field::www_authenticate, *challenge);
        if (policy) {
          for (const auto& [name, value] : policy->config.headers) response.set(name, value);
        }
        response.keep_alive(request.keep_alive() && !stopped);
      };
      if (r.stream) {
        // A body made piece by piece, sent as it is made: in chunks for
        // HTTP/1.1, delimited by the end of the connection for HTTP/1.0 (a
        // length would mean making it all first). HEAD gets the same header
        // and nothing is made.
        const bool chunked = request.version() >= 11;
        http::response<http::empty_body> response{static_cast<http::status>(r.status),
                                                  request.version()};
        head(response);
        if (chunked) {
          response.chunked(true);
        } else {
          response.keep_alive(false);
        }
        if (request.method() == http::verb::head) {
          http::response_serializer<http::empty_body> serializer{response};
          lowest.expires_after(limits.idle_timeout);
          auto [wec, written] = co_await http::async_write_header(stream, serializer, kTuple);
          if (wec || !response.keep_alive()) break;
          continue;
        }
        if (!co_await WriteStreamed(stream, lowest, response,
                                    std::make_shared<Producer>(std::move(r.stream)), chunked) ||
            !response.keep_alive()) {
          break;
        }
        continue;
      }
      http::response<http::string_body> response{static_cast<http::status>(r.status),
                                                 request.version()};
      head(response);
      response.body() = std::move(r.body);
      response.prepare_payload();
      if (request.method() == http::verb::head) response.body().clear();
      lowest.expires_after(limits.idle_timeout);
      auto [wec, written] = co_await http::async_write(stream, response, kTuple);
      if (wec || !response.keep_alive()) break;
    }
  }
};

HttpServer::HttpServer(asio::any_io_executor executor, const tcp::endpoint& endpoint,
                       Handler handler, Limits limits)
    : state_(std::make_shared<State>(std::move(executor), std::move(handler), limits)),
      worker_pool_(std::make_unique<asio::thread_pool>(1)) {
  state_->worker = worker_pool_->get_executor();
  auto& a = state_->acceptor;
  a.open(endpoint.protocol());
  a.set_option(asio::socket_base::reuse_address(true));
  if (endpoint.address().is_v6()) {
    boost::system::error_code ignored;  // accept IPv4 too on "[::]:port"
    a.set_option(asio::ip::v6_only(false), ignored);
  }
  a.bind(endpoint);
  a.listen(asio::socket_base::max_listen_connections);
}

HttpServer::HttpServer(asio::any_io_executor executor, int listening_fd, Handler handler,
                       Limits limits)
    : state_(std::make_shared<State>(std::move(executor), std::move(handler), limits)),
      worker_pool_(std::make_unique<asio::thread_pool>(1)) {
  state_->worker = worker_pool_->get_executor();
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (::getsockname(listening_fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw boost::system::system_error(errno, boost::system::generic_category(),
                                      "inherited listening socket");
  }
  state_->acceptor.assign(address.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), listening_fd);
}

HttpServer::~HttpServer() {
  Stop();
  // Joins the bcrypt worker; checks it had queued are dropped.
  // Joins the worker; work it had queued is dropped.
  worker_pool_->stop();
  worker_pool_.reset();
}

void HttpServer::Secure(std::shared_ptr<WebConfigWatcher> web) { state_->web = std::move(web); }

tcp::endpoint HttpServer::LocalEndpoint() const { return state_->acceptor.local_endpoint(); }

void HttpServer::Start() { asio::co_spawn(state_->executor, state_->Accept(), asio::detached); }

void HttpServer::Stop() {
  if (state_->stopped) return;
  state_->stopped = true;
  boost::system::error_code ignored;
  state_->acceptor.close(ignored);
  for (auto* s : state_->sessions) s->socket().close(ignored);
}

}  // namespace sloprobe::daemon
