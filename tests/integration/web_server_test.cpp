// sloprobe's own web server under load it should refuse: oversized
// requests, too many connections, too many requests, and slow password
// checks that must not hold up anything else. TLS and authentication from
// the outside, with curl, are in tests/e2e/web_config.sh.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <fstream>
#include <future>

#include "config/text.hpp"
#include "tests/integration/harness.hpp"

namespace sloprobe::test {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// "right-password" at bcrypt cost 13: long enough (about half a second) to
// tell a check that blocks the server from one that does not.
const std::string kSlowHash = "$2b$13$mOvrgWiTBOlamtzg4IAiv.TE.Jb5mnlQRWSKEuH25SJOGZNfusE8y";

// A blocking client connection whose reads give up after 10 s.
class Client {
 public:
  explicit Client(std::uint16_t port) : socket_(io_) {
    socket_.connect({asio::ip::make_address("127.0.0.1"), port});
    timeval tv{10, 0};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  void Send(const std::string& bytes) { asio::write(socket_, asio::buffer(bytes)); }
  // Everything until the server closes (or the read times out).
  std::string ReadToEnd() {
    std::string out;
    boost::system::error_code ec;
    asio::read(socket_, asio::dynamic_buffer(out), ec);
    return out;
  }
  // Sends one request and reads exactly one response, keeping the
  // connection open; returns its status.
  int Exchange(const std::string& request) {
    Send(request);
    boost::beast::http::response_parser<boost::beast::http::string_body> parser;
    boost::system::error_code ec;
    boost::beast::http::read(socket_, keep_, parser, ec);
    return ec ? 0 : static_cast<int>(parser.get().result_int());
  }
  // Whether a byte of the answer has arrived yet, without waiting.
  bool AnswerArrived() { return socket_.available() > 0; }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  boost::beast::flat_buffer keep_;
};

std::string Get(const std::string& target, const std::string& extra_headers = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra_headers +
         "Connection: close\r\n\r\n";
}

int Status(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12) return 0;
  return std::stoi(response.substr(9, 3));
}

config::Config OneProbe(const TestbedServer& bed) {
  return ConfigFromYaml("probes:\n  - {name: h, type: http, request: {url: \"" +
                        bed.Url("/health") + "\"}}\n");
}

TEST(WebServer, OversizedHeadersAndBodiesGetTheirOwnStatus) {
  TestbedServer bed;
  DaemonRunner d(OneProbe(bed));
  Client long_target(d.Port());
  long_target.Send(Get("/metrics?" + std::string(20000, 'a')));
  EXPECT_EQ(Status(long_target.ReadToEnd()), 431);
  Client big_header(d.Port());
  big_header.Send(Get("/metrics", "X-Big: " + std::string(10000, 'b') + "\r\n"));
  EXPECT_EQ(Status(big_header.ReadToEnd()), 431);
  // The answer arrives although the body is still being sent.
  Client big_body(d.Port());
  const std::string body(256 * 1024, 'c');
  big_body.Send("POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_EQ(Status(big_body.ReadToEnd()), 413);
  Client garbage(d.Port());
  garbage.Send("NOT HTTP AT ALL\r\n\r\n");
  EXPECT_EQ(Status(garbage.ReadToEnd()), 400);
  // And the server still serves.
  EXPECT_EQ(HttpRequest(d.Port(), "GET", "/-/healthy").status, 200);
}

TEST(WebServer, ConnectionsOverTheLimitAreClosedAtOnce) {
  TestbedServer bed;
  daemon::DaemonOptions options;
  options.max_connections = 2;
  DaemonRunner d(OneProbe(bed), options);
  auto idle1 = std::make_unique<Client>(d.Port());
  Client idle2(d.Port());
  Client third(d.Port());
  third.Send(Get("/-/healthy"));
  EXPECT_EQ(third.ReadToEnd(), "");  // closed without an answer
  // Once a slot is free, a new connection is served.
  idle1.reset();
  int status = 0;
  for (int i = 0; i < 100 && status != 200; ++i) {
    Client next(d.Port());
    next.Send(Get("/-/healthy"));
    status = Status(next.ReadToEnd());
    if (status != 200) std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(status, 200);
}

class SecuredServer : public ::testing::Test {
 protected:
  void Start(const std::string& web_yaml) {
    const auto file = dir_.Path() / "web.yml";
    std::ofstream(file) << web_yaml;
    daemon::DaemonOptions options;
    options.web_config_file = file.string();
    daemon_ = std::make_unique<DaemonRunner>(OneProbe(bed_), options);
  }
  std::uint16_t Port() const { return daemon_->Port(); }

  TestbedServer bed_;
  TempDir dir_;
  std::unique_ptr<DaemonRunner> daemon_;
};

TEST_F(SecuredServer, PasswordChecksNeverHoldUpOtherRequests) {
  Start("basic_auth_users:\n  alice: " + kSlowHash + "\n");
  const std::string right =
      "Authorization: Basic " + config::Base64("alice:right-password") + "\r\n";
  const std::string wrong = "Authorization: Basic " + config::Base64("alice:wrong") + "\r\n";
  // The first right answer is checked with bcrypt and remembered.
  {
    Client first(Port());
    first.Send(Get("/metrics", right));
    ASSERT_EQ(Status(first.ReadToEnd()), 200);
  }
  // A wrong password now keeps the bcrypt worker busy for about half a
  // second; requests with remembered credentials go past it meanwhile.
  Client slow(Port());
  slow.Send(Get("/metrics", wrong));
  for (int i = 0; i < 5; ++i) {
    Client fast(Port());
    fast.Send(Get("/-/healthy", right));
    EXPECT_EQ(Status(fast.ReadToEnd()), 200);
  }
  EXPECT_FALSE(slow.AnswerArrived()) << "the wrong password was checked before the others";
  const auto answer = slow.ReadToEnd();
  EXPECT_EQ(Status(answer), 401);
  EXPECT_NE(answer.find("WWW-Authenticate: Basic"), std::string::npos);
}

TEST_F(SecuredServer, ARemovedUserIsOutAtTheNextRequestOnAnOpenConnection) {
  const std::string alice =
      "  alice: $2b$04$IWk50LdWAia08SsZIFgG.e.JhIZMlvOxQn6G0SQnUFgq9NQiXCQr.\n";
  const std::string bob = "  bob: $2b$04$wLjcE93Euloh3MrrqIs9.OrjRIdz.9qEK.HmgssK/y8g2KIRSYuNi\n";
  Start("basic_auth_users:\n" + alice + bob);
  const std::string as_alice = "GET /-/healthy HTTP/1.1\r\nHost: x\r\nAuthorization: Basic " +
                               config::Base64("alice:alice-pw") + "\r\n\r\n";
  Client kept(Port());
  ASSERT_EQ(kept.Exchange(as_alice), 200);
  ASSERT_EQ(kept.Exchange(as_alice), 200);  // remembered
  std::ofstream(dir_.Path() / "web.yml") << "basic_auth_users:\n" + bob;
  EXPECT_EQ(kept.Exchange(as_alice), 401);
  EXPECT_EQ(kept.Exchange("GET /-/healthy HTTP/1.1\r\nHost: x\r\nAuthorization: Basic " +
                          config::Base64("bob:bob-pw") + "\r\n\r\n"),
            200);
}

TEST_F(SecuredServer, RequestsOverTheRateLimitGet429) {
  Start("rate_limit: {interval: 1m, burst: 2}\n");
  std::vector<int> statuses;
  for (int i = 0; i < 3; ++i) statuses.push_back(HttpRequest(Port(), "GET", "/-/healthy").status);
  EXPECT_EQ(statuses, (std::vector<int>{200, 200, 429}));
}

}  // namespace
}  // namespace sloprobe::test
