#include "daemon/http_server.hpp"

#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <cerrno>
#include <charconv>
#include <list>

namespace sloprobe::daemon {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
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

  asio::awaitable<void> Accept() {
    auto self = shared_from_this();
    while (!stopped) {
      auto [ec, socket] = co_await acceptor.async_accept(kTuple);
      if (stopped) break;
      if (ec) {
        if (ec == asio::error::operation_aborted) break;
        continue;  // e.g. EMFILE: keep serving the connections we have
      }
      if (sessions.size() >= limits.max_connections) {
        boost::system::error_code ignored;
        socket.close(ignored);
        continue;
      }
      asio::co_spawn(executor, Session(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> Session(tcp::socket socket) {
    auto self = shared_from_this();
    beast::tcp_stream stream(std::move(socket));
    // Listed for Stop() exactly as long as the stream lives, however the
    // session ends.
    struct Registration {
      std::list<beast::tcp_stream*>& list;
      std::list<beast::tcp_stream*>::iterator it;
      ~Registration() { list.erase(it); }
    } registered{sessions, sessions.insert(sessions.end(), &stream)};
    beast::flat_buffer buffer(limits.header_limit + limits.body_limit);
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(limits.header_limit);
      parser.body_limit(limits.body_limit);
      stream.expires_after(limits.idle_timeout);
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, kTuple);
      if (ec) {
        // A client that closes an idle connection is normal; anything else
        // from the parser is a bad request and gets told so.
        const bool parse_error =
            ec.category() == http::make_error_code(http::error::bad_target).category() &&
            ec != http::error::end_of_stream && ec != http::error::partial_message;
        if (parse_error) {
          http::response<http::string_body> bad{ec == http::error::body_limit
                                                    ? http::status::payload_too_large
                                                    : http::status::bad_request,
                                                11};
          bad.set(http::field::content_type, "text/plain; charset=utf-8");
          bad.body() = ec.message() + "\n";
          bad.keep_alive(false);
          bad.prepare_payload();
          stream.expires_after(std::chrono::seconds(5));
          co_await http::async_write(stream, bad, kTuple);
        }
        break;
      }
      const auto& request = parser.get();
      Response r = handler(request);
      http::response<http::string_body> response{static_cast<http::status>(r.status),
                                                 request.version()};
      response.set(http::field::server, "sloprobe");
      response.set(http::field::content_type, r.content_type);
      response.keep_alive(request.keep_alive() && !stopped);
      response.body() = std::move(r.body);
      response.prepare_payload();
      if (request.method() == http::verb::head) response.body().clear();
      stream.expires_after(limits.idle_timeout);
      auto [wec, written] = co_await http::async_write(stream, response, kTuple);
      if (wec || !response.keep_alive()) break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.close();
  }
};

HttpServer::HttpServer(asio::any_io_executor executor, const tcp::endpoint& endpoint,
                       Handler handler, Limits limits)
    : state_(std::make_shared<State>(std::move(executor), std::move(handler), limits)) {
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
    : state_(std::make_shared<State>(std::move(executor), std::move(handler), limits)) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (::getsockname(listening_fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw boost::system::system_error(errno, boost::system::generic_category(),
                                      "inherited listening socket");
  }
  state_->acceptor.assign(address.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), listening_fd);
}

HttpServer::~HttpServer() { Stop(); }

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
