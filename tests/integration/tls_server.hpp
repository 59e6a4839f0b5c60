#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

#include "tests/integration/harness.hpp"

namespace sloprobe::test {

// A TLS server on loopback with a certificate made for the test (openssl
// req); answers every request 200 "tls ok" and closes.
class TlsServer {
 public:
  explicit TlsServer(const TempDir& dir) {
    cert_ = (dir.Path() / "cert.pem").string();
    key_ = (dir.Path() / "key.pem").string();
    const std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 "
        "-subj /CN=sloprobe.test -addext subjectAltName=DNS:sloprobe.test,IP:127.0.0.1 "
        "-keyout " +
        key_ + " -out " + cert_ + " 2>/dev/null";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("openssl req failed");
    ctx_.use_certificate_chain_file(cert_);
    ctx_.use_private_key_file(key_, boost::asio::ssl::context::pem);
    acceptor_.open(boost::asio::ip::tcp::v4());
    acceptor_.bind({boost::asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    boost::asio::co_spawn(io_, Accept(), boost::asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~TlsServer() {
    boost::asio::post(io_, [this] { io_.stop(); });
    thread_.join();
  }
  std::uint16_t Port() const { return acceptor_.local_endpoint().port(); }
  const std::string& CertFile() const { return cert_; }

 private:
  boost::asio::awaitable<void> Accept() {
    for (;;) {
      auto [ec, socket] =
          co_await acceptor_.async_accept(boost::asio::as_tuple(boost::asio::use_awaitable));
      if (ec) co_return;
      boost::asio::co_spawn(io_, Serve(std::move(socket)), boost::asio::detached);
    }
  }
  boost::asio::awaitable<void> Serve(boost::asio::ip::tcp::socket socket) {
    namespace http = boost::beast::http;
    constexpr auto tuple = boost::asio::as_tuple(boost::asio::use_awaitable);
    boost::beast::ssl_stream<boost::beast::tcp_stream> stream(std::move(socket), ctx_);
    boost::beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
    auto [hec] = co_await stream.async_handshake(boost::asio::ssl::stream_base::server, tuple);
    if (hec) co_return;
    boost::beast::flat_buffer buffer;
    http::request<http::string_body> req;
    auto [rec, n] = co_await http::async_read(stream, buffer, req, tuple);
    if (rec) co_return;
    http::response<http::string_body> res{http::status::ok, 11};
    res.body() = "tls ok";
    res.keep_alive(false);
    res.prepare_payload();
    co_await http::async_write(stream, res, tuple);
  }

  boost::asio::io_context io_;
  boost::asio::ssl::context ctx_{boost::asio::ssl::context::tls_server};
  boost::asio::ip::tcp::acceptor acceptor_{io_};
  std::string cert_;
  std::string key_;
  std::thread thread_;
};

}  // namespace sloprobe::test
