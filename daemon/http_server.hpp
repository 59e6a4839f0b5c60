#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace sloprobe::daemon {

class WebConfigWatcher;

// "host:port", ":port" (all interfaces) or "[v6]:port"; nullopt if invalid.
std::optional<boost::asio::ip::tcp::endpoint> ParseListenAddress(std::string_view text);

// The inverse: "127.0.0.1:9479", "[::]:9479".
std::string EndpointText(const boost::asio::ip::tcp::endpoint& endpoint);

// sloprobe's own HTTP/1.1 server for /metrics and the lifecycle endpoints.
// Bounded everywhere: connection count, request size, idle time.
class HttpServer {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  struct Response {
    Response() = default;
    Response(int s, std::string type, std::string text)
        : status(s), content_type(std::move(type)), body(std::move(text)) {}
    // A 200 whose body `next` makes piece by piece (see `stream`).
    static Response Streamed(std::string type, std::function<bool(std::string&)> next) {
      Response r(200, std::move(type), {});
      r.stream = std::move(next);
      return r;
    }

    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
    // When set, the body is made piece by piece on the server's worker
    // thread: each call appends the next piece to its argument and returns
    // false after the last. Pieces go out as they are made (HTTP/1.1
    // chunks; for HTTP/1.0 the end of the connection ends the body; HEAD
    // makes none), so that a large body (a scrape
    // of 10,000 probes, about 100 MB) neither holds up the probes' thread
    // nor sits in memory whole. It must be safe to call from the worker.
    std::function<bool(std::string&)> stream;
  };
  using Handler = std::function<Response(const Request&)>;

  struct Limits {
    std::size_t max_connections = 64;
    std::uint32_t header_limit = 8 * 1024;
    std::uint64_t body_limit = std::uint64_t{64} * 1024;
    std::chrono::seconds idle_timeout{30};
    std::chrono::seconds handshake_timeout{10};  // TLS: first byte to handshake done
  };

  // Binds and listens at once; throws boost::system::system_error on failure.
  HttpServer(boost::asio::any_io_executor executor, const boost::asio::ip::tcp::endpoint& endpoint,
             Handler handler, Limits limits);
  // Serves on a socket that is already bound and listening (systemd socket
  // activation); takes ownership of `listening_fd`.
  HttpServer(boost::asio::any_io_executor executor, int listening_fd, Handler handler,
             Limits limits);
  ~HttpServer();

  // Applies --web.config.file (TLS, basic authentication, rate limit and
  // headers) to every connection accepted from now on. Call before Start().
  void Secure(std::shared_ptr<WebConfigWatcher> web);

  boost::asio::ip::tcp::endpoint LocalEndpoint() const;
  void Start();
  // Stops accepting and closes every open connection.
  void Stop();

 private:
  struct State;
  std::shared_ptr<State> state_;
  // One thread for work too slow for the probes' thread: bcrypt checks and
  // rendered bodies.
  std::unique_ptr<boost::asio::thread_pool> worker_pool_;
};

}  // namespace sloprobe::daemon
