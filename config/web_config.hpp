#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/duration.hpp"
#include "config/error.hpp"

namespace sloprobe::config {

// The file --web.config.file names, in the format of the Prometheus
// exporter-toolkit (docs/security.md): TLS and basic authentication for
// sloprobe's own endpoints. One file can serve sloprobe and the exporters
// beside it.
struct WebTlsConfig {
  // Go's tls.ClientAuthType names.
  enum class ClientAuth {
    kNoClientCert,
    kRequestClientCert,           // asked for, not required, not verified
    kRequireAnyClientCert,        // required, not verified
    kVerifyClientCertIfGiven,     // verified when sent
    kRequireAndVerifyClientCert,  // required and verified: the only one that authenticates
  };
  enum class Version { kTls10 = 10, kTls11 = 11, kTls12 = 12, kTls13 = 13 };

  // PEM either from a file (relative paths are relative to the web
  // configuration file) or inline; exactly one of each pair.
  std::string cert_file;
  std::string cert;
  std::string key_file;
  std::string key;  // a secret: never logged
  std::string client_ca_file;
  std::string client_ca;
  ClientAuth client_auth = ClientAuth::kNoClientCert;
  // Subject alternative names of which a client certificate must carry one
  // (DNS, IP, e-mail or URI, compared exactly).
  std::vector<std::string> client_allowed_sans;
  Version min_version = Version::kTls12;
  Version max_version = Version::kTls13;
  // IANA names (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 ...) for TLS 1.2 and
  // below; empty: OpenSSL's defaults. TLS 1.3 suites are not configurable.
  std::vector<std::string> cipher_suites;
  bool prefer_server_cipher_suites = true;
  // OpenSSL group names in preference order (the file uses Go's names:
  // CurveP256, CurveP384, CurveP521, X25519).
  std::vector<std::string> curve_preferences;
};

struct WebConfig {
  std::optional<WebTlsConfig> tls;  // nullopt: plain HTTP
  // Extra response headers (only the security headers the format allows).
  std::vector<std::pair<std::string, std::string>> headers;
  // User -> bcrypt hash. Empty: no authentication.
  std::map<std::string, std::string, std::less<>> basic_auth_users;
  struct RateLimit {
    Duration interval{};  // one request per interval on average
    int burst = 0;
  };
  std::optional<RateLimit> rate_limit;

  // Every file the configuration reads besides itself.
  std::vector<std::string> Files() const;
};

struct WebConfigResult {
  std::optional<WebConfig> config;
  std::vector<ConfigError> errors;
};

WebConfigResult LoadWebConfigFile(const std::string& path);
// `file` names the source in errors; relative paths in it are resolved
// against `base_dir`.
WebConfigResult LoadWebConfigString(std::string_view yaml, const std::string& file,
                                    const std::string& base_dir);

}  // namespace sloprobe::config
