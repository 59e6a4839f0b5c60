#include "probes/common/http_client.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>

#include "probes/kinds.hpp"

namespace sloprobe::probes {
namespace {

TEST(SerializeRequest, GetWithDefaults) {
  EXPECT_EQ(SerializeRequest("GET", "/health?x=1", "127.0.0.1:9002", {}, "", false),
            "GET /health?x=1 HTTP/1.1\r\nHost: 127.0.0.1:9002\r\nUser-Agent: sloprobe/0.1\r\n"
            "Connection: close\r\n\r\n");
}

TEST(SerializeRequest, ConfiguredHeadersReplaceDefaultsButNotFraming) {
  const std::vector<config::Header> headers{{"host", "api.example"},
                                            {"USER-AGENT", "mine"},
                                            {"Content-Length", "999"},
                                            {"Connection", "upgrade"},
                                            {"X-Key", "v"}};
  EXPECT_EQ(SerializeRequest("POST", "/login", "127.0.0.1", headers, R"({"a":1})", true),
            "POST /login HTTP/1.1\r\nhost: api.example\r\nUSER-AGENT: mine\r\nX-Key: v\r\n"
            "Content-Length: 7\r\nConnection: keep-alive\r\n\r\n");  // the body goes after
}

TEST(SerializeRequest, EmptyPostStillSaysItsLength) {
  EXPECT_NE(SerializeRequest("POST", "/", "h", {}, "", false).find("Content-Length: 0\r\n"),
            std::string::npos);
  EXPECT_EQ(SerializeRequest("DELETE", "/", "h", {}, "", false).find("Content-Length"),
            std::string::npos);
}

config::ProbeConfig Probe(const std::string& url, const std::string& ca = "",
                          bool insecure = false) {
  config::ProbeConfig p;
  p.name = "p";
  p.request.url = boost::urls::url(url);
  p.request.tls.ca_file = ca;
  p.request.tls.insecure_skip_verify = insecure;
  return p;
}

TEST(TlsContexts, CreatedOnlyForTlsAndSharedPerTrustSetting) {
  boost::asio::io_context io;
  auto tls = std::make_shared<TlsContexts>();
  (void)MakeProbe(Probe("http://127.0.0.1/"), io.get_executor(), tls);
  EXPECT_EQ(tls->Size(), 0u);  // plain HTTP loads no trust store
  (void)MakeProbe(Probe("https://127.0.0.1/"), io.get_executor(), tls);
  (void)MakeProbe(Probe("https://127.0.0.2/"), io.get_executor(), tls);
  EXPECT_EQ(tls->Size(), 1u);
  (void)MakeProbe(Probe("https://127.0.0.1/", "", true), io.get_executor(), tls);
  EXPECT_EQ(tls->Size(), 2u);
}

TEST(TlsContexts, BadCaFileNamesTheProbeAndTheFile) {
  const auto path = std::filesystem::temp_directory_path() / "sloprobe-not-a-ca.pem";
  std::ofstream(path) << "this is not a certificate\n";
  boost::asio::io_context io;
  auto tls = std::make_shared<TlsContexts>();
  try {
    (void)MakeProbe(Probe("https://127.0.0.1/", path.string()), io.get_executor(), tls);
    FAIL() << "a CA file that is not PEM was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("probe 'p': cannot load TLS trust settings from '" +
                                         path.string() + "'"),
              std::string::npos)
        << e.what();
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace sloprobe::probes
