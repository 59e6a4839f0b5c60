#include "daemon/log.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "daemon/http_server.hpp"

namespace sloprobe::daemon {
namespace {

class LogTest : public ::testing::Test {
 protected:
  void TearDown() override {
    Logger::Get().Configure(LogLevel::kInfo, LogFormat::kLogfmt, &std::cerr);
    Logger::Get().SetRedactor({});
  }
  std::ostringstream out_;
};

TEST_F(LogTest, LogfmtQuotesWhatNeedsQuoting) {
  Logger::Get().Configure(LogLevel::kInfo, LogFormat::kLogfmt, &out_);
  LogWarn("probe failing", {{"probe", "health"}, {"detail", "status 503, expected \"2xx\""}});
  const auto line = out_.str();
  EXPECT_NE(line.find(" level=warn msg=\"probe failing\" probe=health "
                      "detail=\"status 503, expected \\\"2xx\\\"\"\n"),
            std::string::npos)
      << line;
  EXPECT_EQ(line.rfind("ts=", 0), 0u);
}

TEST_F(LogTest, JsonEscapesControlCharacters) {
  Logger::Get().Configure(LogLevel::kInfo, LogFormat::kJson, &out_);
  LogInfo("x", {{"k", std::string("a\nb\x01")}});
  EXPECT_NE(out_.str().find(R"("level":"info","msg":"x","k":"a\nb\u0001"})"), std::string::npos)
      << out_.str();
}

TEST_F(LogTest, LevelFilters) {
  Logger::Get().Configure(LogLevel::kWarn, LogFormat::kLogfmt, &out_);
  LogInfo("hidden");
  LogDebug("hidden");
  LogError("shown");
  EXPECT_EQ(out_.str().find("hidden"), std::string::npos);
  EXPECT_NE(out_.str().find("shown"), std::string::npos);
}

TEST_F(LogTest, SecretsAreMaskedInMessagesAndFields) {
  Logger::Get().Configure(LogLevel::kInfo, LogFormat::kLogfmt, &out_);
  config::Redactor r;
  r.Add("hunter2-secret");
  Logger::Get().SetRedactor(r);
  LogWarn("server said hunter2-secret", {{"detail", "token=hunter2-secret;"}});
  EXPECT_EQ(out_.str().find("hunter2"), std::string::npos) << out_.str();
  EXPECT_NE(out_.str().find("token=<redacted>;"), std::string::npos);
}

TEST(ListenAddress, Parses) {
  EXPECT_EQ(ParseListenAddress("127.0.0.1:9479")->port(), 9479);
  EXPECT_TRUE(ParseListenAddress(":9479")->address().is_unspecified());
  EXPECT_TRUE(ParseListenAddress("[::1]:0")->address().is_loopback());
  EXPECT_TRUE(ParseListenAddress("localhost:1")->address().is_loopback());
  for (const char* bad : {"9479", "host:", "1.2.3.4:99999", "nohost.example:80", ":x"}) {
    EXPECT_FALSE(ParseListenAddress(bad)) << bad;
  }
}

}  // namespace
}  // namespace sloprobe::daemon
