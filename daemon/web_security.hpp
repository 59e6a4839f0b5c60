#pragma once

#include <array>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/web_config.hpp"

namespace sloprobe::daemon {

// What sloprobe's server applies to a connection under --web.config.file:
// one loaded version of the file.
struct WebPolicy {
  config::WebConfig config;
  std::shared_ptr<boost::asio::ssl::context> tls;  // null: plain HTTP

  // Credentials that matched before, as SHA-256 over user, password and
  // hash: bcrypt is slow on purpose and Prometheus sends the same
  // credentials every scrape. Touched only on the server's thread; a new
  // version of the file starts empty, and requests take the current
  // version, so a removed user is out at the next request.
  std::set<std::array<unsigned char, 32>> verified;

  // The rate limit's token bucket (exporter-toolkit semantics: `burst`
  // requests at once, then one per `interval`). Server's thread only.
  double tokens = 0;
  std::chrono::steady_clock::time_point refilled{};
  bool TakeToken(std::chrono::steady_clock::time_point now);
};

// Builds the TLS server context; throws std::runtime_error naming the field
// that failed (never quoting a key).
std::shared_ptr<boost::asio::ssl::context> MakeServerTlsContext(const config::WebTlsConfig& tls);

// Whether `ssl`'s peer certificate carries one of `allowed` as a subject
// alternative name (DNS, IP, e-mail or URI).
bool ClientSanAllowed(const SSL* ssl, const std::vector<std::string>& allowed);

// Whether `password` hashes to `hash` (bcrypt, through libxcrypt). Takes
// as long as the hash's cost says; call it off the probes' thread.
bool BcryptMatches(std::string_view password, const std::string& hash);

// A valid bcrypt hash no password is known for: checked against when the
// user does not exist, so that an unknown user costs what a wrong password
// costs and user names cannot be told by timing.
extern const std::string kUnknownUserHash;

// The key under which a matching user/password/hash is remembered.
std::array<unsigned char, 32> CredentialKey(std::string_view user, std::string_view password,
                                            std::string_view hash);

// Splits "Basic base64(user:password)"; nullopt for anything else.
struct BasicCredentials {
  std::string user;
  std::string password;
};
std::optional<BasicCredentials> ParseBasicAuthorization(std::string_view header);

// The web configuration file, read again whenever it or a file it names
// (certificate, key, client CA) changes, so that certificates can be
// rotated without a restart. A version that does not load is logged once
// and the last good one stays in force.
class WebConfigWatcher {
 public:
  // Loads `path`; on failure returns null and fills `errors` (located).
  static std::shared_ptr<WebConfigWatcher> Load(const std::string& path,
                                                std::vector<std::string>& errors);

  // The policy in force now: for a new connection (TLS) and for each
  // request (authentication, rate limit, headers).
  std::shared_ptr<WebPolicy> Current();

 private:
  explicit WebConfigWatcher(std::string path) : path_(std::move(path)) {}
  // Loads the file into a policy; null with `errors` on failure.
  std::shared_ptr<WebPolicy> Build(std::vector<std::string>& errors) const;
  // Makes `policy` the one in force; `before` is the stamp taken before it
  // was read.
  void Adopt(std::shared_ptr<WebPolicy> policy, const std::string& before);
  // Identity of the file and the files it names (inode, size, mtime).
  std::string Stamp(const config::WebConfig* config) const;

  std::string path_;
  std::shared_ptr<WebPolicy> current_;
  std::string stamp_;         // of the version in force
  std::string failed_stamp_;  // of the last version that failed to load
};

}  // namespace sloprobe::daemon
