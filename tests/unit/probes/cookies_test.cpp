// The per-run cookie jar and HTTP dates (Retry-After, Expires).
#include "probes/common/cookies.hpp"

#include <gtest/gtest.h>

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include "probes/common/http_date.hpp"

namespace sloprobe::probes {
namespace {

using namespace std::chrono_literals;
using WallClock = std::chrono::system_clock;

const WallClock::time_point kNow = WallClock::from_time_t(1'800'000'000);

boost::urls::url Url(std::string_view text) {
  return boost::urls::url(*boost::urls::parse_uri(text));
}

boost::beast::http::fields SetCookies(std::initializer_list<std::string_view> lines) {
  boost::beast::http::fields f;
  for (auto line : lines) f.insert(boost::beast::http::field::set_cookie, line);
  return f;
}

TEST(Cookies, SentBackToTheSameHostAndPath) {
  CookieJar jar;
  jar.Store(Url("http://api.example.com/auth/session"),
            SetCookies({"sid=abc; Path=/; HttpOnly", "pref=1", "scoped=2; Path=/agents"}), kNow);
  // pref has the default path /auth (the directory of the request path).
  EXPECT_EQ(jar.HeaderFor(Url("http://api.example.com/auth/me"), kNow), "pref=1; sid=abc");
  EXPECT_EQ(jar.HeaderFor(Url("http://api.example.com/agents/7"), kNow), "scoped=2; sid=abc");
  EXPECT_EQ(jar.HeaderFor(Url("http://api.example.com/agentsx"), kNow), "sid=abc");
  // Host-only: not for other hosts, not even subdomains.
  EXPECT_EQ(jar.HeaderFor(Url("http://other.example.com/"), kNow), "");
  EXPECT_EQ(jar.HeaderFor(Url("http://x.api.example.com/"), kNow), "");
}

TEST(Cookies, DomainCookiesCoverSubdomainsButNotForeignDomains) {
  CookieJar jar;
  jar.Store(Url("https://login.example.com/"),
            SetCookies({"a=1; Domain=.example.com", "b=2; Domain=evil.com", "c=3; Secure"}), kNow);
  EXPECT_EQ(jar.HeaderFor(Url("https://api.example.com/"), kNow), "a=1");
  EXPECT_EQ(jar.HeaderFor(Url("https://login.example.com/"), kNow), "a=1; c=3");
  // Secure cookies stay off plain HTTP.
  EXPECT_EQ(jar.HeaderFor(Url("http://login.example.com/"), kNow), "a=1");
  EXPECT_EQ(jar.HeaderFor(Url("https://evil.com/"), kNow), "");
}

TEST(Cookies, ExpiryReplacementAndDeletion) {
  CookieJar jar;
  const auto url = Url("http://h/");
  jar.Store(url, SetCookies({"a=1; Max-Age=60", "b=2; Expires=Wed, 21 Oct 2015 07:28:00 GMT"}),
            kNow);
  EXPECT_EQ(jar.HeaderFor(url, kNow), "a=1");
  EXPECT_EQ(jar.HeaderFor(url, kNow + 61s), "");
  jar.Store(url, SetCookies({"a=9"}), kNow);
  EXPECT_EQ(jar.HeaderFor(url, kNow + 61s), "a=9");
  jar.Store(url, SetCookies({"a=gone; Max-Age=0"}), kNow);
  EXPECT_TRUE(jar.Empty());
}

TEST(Cookies, MalformedOnesAreIgnoredAndTheJarIsBounded) {
  CookieJar jar;
  const auto url = Url("http://h/");
  jar.Store(url, SetCookies({"novalue", "=x", std::string(5000, 'a') + "=1"}), kNow);
  EXPECT_TRUE(jar.Empty());
  for (std::size_t i = 0; i < CookieJar::kMaxCookies + 10; ++i) {
    const std::string line = "c" + std::to_string(i) + "=v";
    jar.Store(url, SetCookies({line}), kNow);
  }
  EXPECT_EQ(jar.Values().size(), CookieJar::kMaxCookies);
  EXPECT_EQ(jar.HeaderFor(url, kNow).find("c0=v"), std::string::npos);  // oldest went first
}

TEST(Cookies, MergeAddsAndReplaces) {
  CookieJar cached;
  CookieJar run;
  const auto url = Url("http://h/");
  cached.Store(url, SetCookies({"sid=new"}), kNow);
  run.Store(url, SetCookies({"sid=old", "other=1"}), kNow);
  run.Merge(cached);
  EXPECT_EQ(run.HeaderFor(url, kNow), "other=1; sid=new");
}

TEST(HttpDate, AcceptsTheThreeFormsAndTheCookieVariant) {
  const auto expected = WallClock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), expected);
  EXPECT_EQ(ParseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"), expected);
  EXPECT_EQ(ParseHttpDate("Sun Nov  6 08:49:37 1994"), expected);
  EXPECT_EQ(ParseHttpDate("Sun, 06-Nov-1994 08:49:37 GMT"), expected);
  EXPECT_FALSE(ParseHttpDate("yesterday"));
  EXPECT_FALSE(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT trailing"));
  EXPECT_FALSE(ParseHttpDate(""));
}

TEST(HttpDate, RetryAfterInSecondsOrAsADate) {
  EXPECT_EQ(ParseRetryAfter("120", kNow), 120s);
  EXPECT_EQ(ParseRetryAfter(" 0 ", kNow), 0s);
  EXPECT_EQ(ParseRetryAfter("99999999999999999999999", kNow), std::chrono::seconds::max());
  const auto in_90s = WallClock::to_time_t(kNow + 90s);
  char date[64];
  std::tm tm{};
  gmtime_r(&in_90s, &tm);
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  EXPECT_EQ(ParseRetryAfter(date, kNow), 90s);
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", kNow), 0s);  // in the past
  EXPECT_FALSE(ParseRetryAfter("-5", kNow));
  EXPECT_FALSE(ParseRetryAfter("1.5", kNow));
  EXPECT_FALSE(ParseRetryAfter("soon", kNow));
  EXPECT_FALSE(ParseRetryAfter("", kNow));
}

}  // namespace
}  // namespace sloprobe::probes
