#include "daemon/web_security.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "config/text.hpp"

namespace sloprobe::daemon {
namespace {

using namespace std::chrono_literals;

TEST(Bcrypt, MatchesThePublishedVectorAndNothingElse) {
  // From the crypt_blowfish test vectors ("U*U" at cost 5), in both prefixes
  // htpasswd and other tools write.
  const std::string a = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
  const std::string y = "$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
  EXPECT_TRUE(BcryptMatches("U*U", a));
  EXPECT_TRUE(BcryptMatches("U*U", y));
  EXPECT_FALSE(BcryptMatches("U*V", a));
  EXPECT_FALSE(BcryptMatches("", a));
  // A NUL would cut the password short for crypt(3).
  EXPECT_FALSE(BcryptMatches(std::string("U*U\0x", 5), a));
  EXPECT_FALSE(BcryptMatches("U*U", "not a hash"));
  EXPECT_FALSE(BcryptMatches("sloprobe-no-such-user", ""));
  // The stand-in for unknown users is a real hash, so it costs real time.
  EXPECT_EQ(kUnknownUserHash.size(), 60u);
  EXPECT_FALSE(BcryptMatches("", kUnknownUserHash));
}

TEST(BasicAuthorization, ParsesOnlyWellFormedBasicCredentials) {
  auto c = ParseBasicAuthorization("Basic " + config::Base64("alice:pa:ss word"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->user, "alice");
  EXPECT_EQ(c->password, "pa:ss word");  // only the first ':' splits
  EXPECT_TRUE(ParseBasicAuthorization("basic " + config::Base64("a:")));
  EXPECT_FALSE(ParseBasicAuthorization("Bearer " + config::Base64("a:b")));
  EXPECT_FALSE(ParseBasicAuthorization("Basic " + config::Base64("no-colon")));
  EXPECT_FALSE(ParseBasicAuthorization("Basic !!!!"));
  EXPECT_FALSE(ParseBasicAuthorization(std::string("Basic YWJj=")));  // bad length
  EXPECT_FALSE(ParseBasicAuthorization("Basic"));
  EXPECT_FALSE(ParseBasicAuthorization(""));
}

TEST(Base64, RoundTripsAndRejectsMalformedText) {
  for (const std::string& s :
       std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    EXPECT_EQ(config::Base64Decode(config::Base64(s)), s);
  }
  EXPECT_EQ(config::Base64Decode("YWxpY2U6cHc="), "alice:pw");
  EXPECT_FALSE(config::Base64Decode("YWxpY2U6cHc"));    // unpadded
  EXPECT_FALSE(config::Base64Decode("YW=pY2U6cHc="));   // padding inside
  EXPECT_FALSE(config::Base64Decode("YWxp Y2U6cHc="));  // not the alphabet
  EXPECT_FALSE(config::Base64Decode("===="));
}

TEST(CredentialKey, DependsOnWhereUserEndsAndPasswordBegins) {
  EXPECT_NE(CredentialKey("a", "b:c", "h"), CredentialKey("a:b", "c", "h"));
  EXPECT_NE(CredentialKey("a", "b", "h1"), CredentialKey("a", "b", "h2"));
  EXPECT_EQ(CredentialKey("a", "b", "h"), CredentialKey("a", "b", "h"));
}

TEST(RateLimit, ABurstThenOneRequestPerInterval) {
  WebPolicy p;
  p.config.rate_limit = config::WebConfig::RateLimit{1s, 2};
  const auto t0 = std::chrono::steady_clock::time_point{} + 100s;
  EXPECT_TRUE(p.TakeToken(t0));
  EXPECT_TRUE(p.TakeToken(t0));
  EXPECT_FALSE(p.TakeToken(t0 + 500ms));
  EXPECT_TRUE(p.TakeToken(t0 + 1s));
  EXPECT_FALSE(p.TakeToken(t0 + 1s));
  // Idle time refills up to the burst, not beyond.
  EXPECT_TRUE(p.TakeToken(t0 + 60s));
  EXPECT_TRUE(p.TakeToken(t0 + 60s));
  EXPECT_FALSE(p.TakeToken(t0 + 60s));
  WebPolicy open;
  EXPECT_TRUE(open.TakeToken(t0));
}

TEST(ServerTlsContext, BadFilesNameTheFieldAndNeverTheKey) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("sloprobe-tlsctx-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "garbage.pem") << "not a certificate\n";
  config::WebTlsConfig tls;
  tls.cert_file = (dir / "garbage.pem").string();
  tls.key =
      "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----\n";
  try {
    (void)MakeServerTlsContext(tls);
    ADD_FAILURE() << "a garbage certificate was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("'tls_server_config.cert_file' '" + tls.cert_file + "'"),
              std::string::npos)
        << e.what();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sloprobe::daemon
