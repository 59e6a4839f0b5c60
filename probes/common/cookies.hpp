#pragma once

#include <boost/beast/http/fields.hpp>
#include <boost/url/url_view.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace sloprobe::probes {

// The cookies of one scenario run (RFC 6265, the parts a session login
// needs): Domain, Path, Max-Age, Expires and Secure are honoured; the jar
// holds at most kMaxCookies, the oldest go first.
//
// Cookie values are credentials: nothing here logs them, and Values() lets
// the scenario scrub them from failure details.
class CookieJar {
 public:
  using WallClock = std::chrono::system_clock;
  static constexpr std::size_t kMaxCookies = 64;
  static constexpr std::size_t kMaxCookieBytes = 4096;

  // Takes the cookies of every Set-Cookie header in `headers`, a response
  // from `url`. Malformed cookies and those for another domain are ignored.
  void Store(const boost::urls::url_view& url, const boost::beast::http::fields& headers,
             WallClock::time_point now);

  // The Cookie header value for a request to `url`; empty when none apply.
  std::string HeaderFor(const boost::urls::url_view& url, WallClock::time_point now) const;

  // Adds (or replaces) every cookie of `other`.
  void Merge(const CookieJar& other);

  std::vector<std::string> Values() const;
  bool Empty() const { return cookies_.empty(); }

 private:
  struct Cookie {
    std::string name;
    std::string value;
    std::string domain;  // lower case
    bool host_only = true;
    std::string path;
    bool secure = false;
    std::optional<WallClock::time_point> expires;
  };
  // Replaces the cookie with the same name, domain and path, or removes it.
  void Put(Cookie cookie, bool deleted);

  std::vector<Cookie> cookies_;  // oldest first
};

}  // namespace sloprobe::probes
