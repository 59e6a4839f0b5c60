#include "tests/integration/tls_server.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

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
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <cstdio>
#include <stdexcept>
#include <thread>

namespace sloprobe::test {

void WriteSelfSigned(const std::string& cert_file, const std::string& key_file, long not_before,
                     long not_after) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), not_before);
  X509_gmtime_adj(X509_getm_notAfter(cert), not_after);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("sloprobe.test"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, "DNS:sloprobe.test,IP:127.0.0.1"},
                            std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(cert, key, EVP_sha256());
  FILE* c = std::fopen(cert_file.c_str(), "w");
  FILE* k = std::fopen(key_file.c_str(), "w");
  if (c == nullptr || k == nullptr) throw std::runtime_error("cannot write the test certificate");
  PEM_write_X509(c, cert);
  PEM_write_PrivateKey(k, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(c);
  std::fclose(k);
  X509_free(cert);
  EVP_PKEY_free(key);
}

struct TlsServer::Impl {
  Impl(const TempDir& dir, bool expired) {
    cert = (dir.Path() / "cert.pem").string();
    key = (dir.Path() / "key.pem").string();
    constexpr long kDay = 86400;
    if (expired) {
      WriteSelfSigned(cert, key, -2 * kDay, -kDay);
    } else {
      WriteSelfSigned(cert, key, 0, 30 * kDay);
    }
    ctx.use_certificate_chain_file(cert);
    ctx.use_private_key_file(key, boost::asio::ssl::context::pem);
    acceptor.open(boost::asio::ip::tcp::v4());
    acceptor.bind({boost::asio::ip::make_address("127.0.0.1"), 0});
    acceptor.listen();
    boost::asio::co_spawn(io, Accept(), boost::asio::detached);
    thread = std::thread([this] { io.run(); });
  }
  ~Impl() {
    boost::asio::post(io, [this] { io.stop(); });
    thread.join();
  }

  boost::asio::awaitable<void> Accept() {
    for (;;) {
      auto [ec, socket] =
          co_await acceptor.async_accept(boost::asio::as_tuple(boost::asio::use_awaitable));
      if (ec) co_return;
      boost::asio::co_spawn(io, Serve(std::move(socket)), boost::asio::detached);
    }
  }

  boost::asio::awaitable<void> Serve(boost::asio::ip::tcp::socket socket) {
    namespace http = boost::beast::http;
    constexpr auto tuple = boost::asio::as_tuple(boost::asio::use_awaitable);
    boost::beast::ssl_stream<boost::beast::tcp_stream> stream(std::move(socket), ctx);
    boost::beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
    auto [hec] = co_await stream.async_handshake(boost::asio::ssl::stream_base::server, tuple);
    if (hec) co_return;
    boost::beast::flat_buffer buffer;
    http::request<http::string_body> req;
    auto [rec, n] = co_await http::async_read(stream, buffer, req, tuple);
    if (rec) co_return;
    if (boost::beast::websocket::is_upgrade(req)) {
      boost::beast::websocket::stream<boost::beast::ssl_stream<boost::beast::tcp_stream>&> ws(
          stream);
      auto [aec] = co_await ws.async_accept(req, tuple);
      for (bool open = !aec; open;) {
        buffer.clear();
        auto [wrec, got] = co_await ws.async_read(buffer, tuple);
        auto [wec, put] = co_await ws.async_write(buffer.data(), tuple);
        open = !wrec && !wec;
      }
      co_return;
    }
    http::response<http::string_body> res{http::status::ok, 11};
    res.body() = "tls ok";
    res.keep_alive(false);
    res.prepare_payload();
    co_await http::async_write(stream, res, tuple);
  }

  boost::asio::io_context io;
  boost::asio::ssl::context ctx{boost::asio::ssl::context::tls_server};
  boost::asio::ip::tcp::acceptor acceptor{io};
  std::string cert;
  std::string key;
  std::thread thread;
};

TlsServer::TlsServer(const TempDir& dir, bool expired)
    : impl_(std::make_unique<Impl>(dir, expired)) {}
TlsServer::~TlsServer() = default;
std::uint16_t TlsServer::Port() const { return impl_->acceptor.local_endpoint().port(); }
const std::string& TlsServer::CertFile() const { return impl_->cert; }

}  // namespace sloprobe::test
