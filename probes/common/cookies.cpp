#include "probes/common/cookies.hpp"

#include <algorithm>
#include <boost/beast/core/string.hpp>
#include <charconv>

#include "probes/common/http_date.hpp"

namespace sloprobe::probes {
namespace {

namespace http = boost::beast::http;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string HostOf(const boost::urls::url_view& url) { return Lower(url.encoded_host()); }

bool IsIpLiteral(std::string_view host) {
  return !host.empty() && (host.front() == '[' || std::all_of(host.begin(), host.end(), [](char c) {
                             return (c >= '0' && c <= '9') || c == '.';
                           }));
}

// RFC 6265 section 5.1.3.
bool DomainMatches(std::string_view host, std::string_view domain) {
  if (host == domain) return true;
  return !IsIpLiteral(host) && host.size() > domain.size() && host.ends_with(domain) &&
         host[host.size() - domain.size() - 1] == '.';
}

// RFC 6265 section 5.1.4.
std::string DefaultPath(const boost::urls::url_view& url) {
  const std::string_view path = url.encoded_path();
  if (path.empty() || path.front() != '/') return "/";
  const auto slash = path.rfind('/');
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

bool PathMatches(std::string_view request_path, std::string_view cookie_path) {
  if (request_path.empty()) request_path = "/";
  if (request_path == cookie_path) return true;
  return request_path.starts_with(cookie_path) &&
         (cookie_path.back() == '/' || request_path[cookie_path.size()] == '/');
}

}  // namespace

void CookieJar::Store(const boost::urls::url_view& url, const http::fields& headers,
                      WallClock::time_point now) {
  const std::string host = HostOf(url);
  for (auto range = headers.equal_range(http::field::set_cookie); range.first != range.second;
       ++range.first) {
    const std::string_view line = range.first->value();
    if (line.size() > kMaxCookieBytes) continue;
    const auto semicolon = line.find(';');
    const std::string_view pair = line.substr(0, semicolon);
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    Cookie c;
    c.name = std::string(Trim(pair.substr(0, eq)));
    c.value = std::string(Trim(pair.substr(eq + 1)));
    if (c.name.empty()) continue;
    c.domain = host;
    c.path = DefaultPath(url);
    std::optional<WallClock::time_point> max_age;
    bool valid = true;
    std::string_view attrs = semicolon == std::string_view::npos ? "" : line.substr(semicolon + 1);
    while (!attrs.empty()) {
      const auto next = attrs.find(';');
      const std::string_view attr = attrs.substr(0, next);
      attrs = next == std::string_view::npos ? "" : attrs.substr(next + 1);
      const auto aeq = attr.find('=');
      const std::string key = Lower(Trim(attr.substr(0, aeq)));
      const std::string_view value =
          aeq == std::string_view::npos ? "" : Trim(attr.substr(aeq + 1));
      if (key == "domain" && !value.empty()) {
        std::string domain = Lower(value);
        if (domain.front() == '.') domain.erase(0, 1);
        if (!DomainMatches(host, domain)) {
          valid = false;  // a cookie for a domain the response did not come from
          break;
        }
        c.domain = std::move(domain);
        c.host_only = false;
      } else if (key == "path" && !value.empty() && value.front() == '/') {
        c.path = std::string(value);
      } else if (key == "max-age") {
        std::int64_t seconds = 0;
        auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
        if (ec == std::errc{} && p == value.data() + value.size()) {
          seconds = std::clamp<std::int64_t>(seconds, -1, std::int64_t{10} * 365 * 86400);
          max_age = now + std::chrono::seconds(seconds);
        }
      } else if (key == "expires") {
        if (auto t = ParseHttpDate(value)) c.expires = *t;
      } else if (key == "secure") {
        c.secure = true;
      }
    }
    if (!valid) continue;
    if (max_age) c.expires = max_age;  // Max-Age wins over Expires
    // An expiry in the past is how a server deletes a cookie.
    const bool deleted = c.expires && *c.expires <= now;
    Put(std::move(c), deleted);
  }
}

void CookieJar::Put(Cookie cookie, bool deleted) {
  std::erase_if(cookies_, [&](const Cookie& c) {
    return c.name == cookie.name && c.domain == cookie.domain && c.path == cookie.path;
  });
  if (deleted) return;
  if (cookies_.size() >= kMaxCookies) cookies_.erase(cookies_.begin());
  cookies_.push_back(std::move(cookie));
}

std::string CookieJar::HeaderFor(const boost::urls::url_view& url,
                                 WallClock::time_point now) const {
  if (cookies_.empty()) return {};
  const std::string host = HostOf(url);
  const bool https = url.scheme_id() == boost::urls::scheme::https;
  const std::string_view path = url.encoded_path();
  std::vector<const Cookie*> matched;
  for (const auto& c : cookies_) {
    if (c.expires && *c.expires <= now) continue;
    if (c.secure && !https) continue;
    if (c.host_only ? host != c.domain : !DomainMatches(host, c.domain)) continue;
    if (!PathMatches(path, c.path)) continue;
    matched.push_back(&c);
  }
  // Longer paths first (RFC 6265 section 5.4); otherwise oldest first.
  std::stable_sort(matched.begin(), matched.end(), [](const Cookie* a, const Cookie* b) {
    return a->path.size() > b->path.size();
  });
  std::string out;
  for (const auto* c : matched) {
    if (!out.empty()) out += "; ";
    out += c->name;
    out += '=';
    out += c->value;
  }
  return out;
}

void CookieJar::Merge(const CookieJar& other) {
  for (const auto& c : other.cookies_) Put(c, false);
}

std::vector<std::string> CookieJar::Values() const {
  std::vector<std::string> out;
  out.reserve(cookies_.size());
  for (const auto& c : cookies_) out.push_back(c.value);
  return out;
}

}  // namespace sloprobe::probes
