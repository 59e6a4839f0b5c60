#include "config/web_config.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/target.hpp"
#include "config/text.hpp"
#include "config/yaml_reader.hpp"

namespace sloprobe::config {
namespace {

constexpr std::array<std::string_view, 4> kTopKeys{"tls_server_config", "http_server_config",
                                                   "basic_auth_users", "rate_limit"};
constexpr std::array<std::string_view, 13> kTlsKeys{"cert",
                                                    "key",
                                                    "client_ca",
                                                    "cert_file",
                                                    "key_file",
                                                    "client_auth_type",
                                                    "client_ca_file",
                                                    "client_allowed_sans",
                                                    "min_version",
                                                    "max_version",
                                                    "cipher_suites",
                                                    "prefer_server_cipher_suites",
                                                    "curve_preferences"};
constexpr std::array<std::string_view, 2> kHttpKeys{"http2", "headers"};
constexpr std::array<std::string_view, 5> kHeaderNames{"Content-Security-Policy", "X-Frame-Options",
                                                       "X-Content-Type-Options", "X-XSS-Protection",
                                                       "Strict-Transport-Security"};
constexpr std::array<std::string_view, 2> kRateLimitKeys{"interval", "burst"};

constexpr std::array<std::pair<std::string_view, WebTlsConfig::ClientAuth>, 6> kClientAuth{{
    {"NoClientCert", WebTlsConfig::ClientAuth::kNoClientCert},
    {"RequestClientCert", WebTlsConfig::ClientAuth::kRequestClientCert},
    {"RequireAnyClientCert", WebTlsConfig::ClientAuth::kRequireAnyClientCert},
    {"RequireClientCert", WebTlsConfig::ClientAuth::kRequireAnyClientCert},  // older name
    {"VerifyClientCertIfGiven", WebTlsConfig::ClientAuth::kVerifyClientCertIfGiven},
    {"RequireAndVerifyClientCert", WebTlsConfig::ClientAuth::kRequireAndVerifyClientCert},
}};
constexpr std::array<std::pair<std::string_view, WebTlsConfig::Version>, 4> kVersions{{
    {"TLS10", WebTlsConfig::Version::kTls10},
    {"TLS11", WebTlsConfig::Version::kTls11},
    {"TLS12", WebTlsConfig::Version::kTls12},
    {"TLS13", WebTlsConfig::Version::kTls13},
}};
// Go's crypto/tls.CipherSuites(): the TLS 1.0-1.2 suites without known
// weaknesses.
constexpr std::array<std::string_view, 10> kCipherSuites{
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"};
// Go's tls.CurveID names -> OpenSSL group names.
constexpr std::array<std::pair<std::string_view, std::string_view>, 4> kCurves{{
    {"CurveP256", "P-256"},
    {"CurveP384", "P-384"},
    {"CurveP521", "P-521"},
    {"X25519", "X25519"},
}};

template <typename Table>
std::string Names(const Table& table) {
  std::string out;
  for (const auto& entry : table) {
    if (!out.empty()) out += ", ";
    if constexpr (std::is_same_v<std::decay_t<decltype(entry)>, std::string_view>) {
      out += entry;
    } else {
      out += entry.first;
    }
  }
  return out;
}

// "$2a$", "$2b$" or "$2y$", a two-digit cost, 22 characters of salt and 31
// of hash in bcrypt's base64 alphabet.
bool IsBcrypt(std::string_view h) {
  if (h.size() != 60 || h[0] != '$' || h[1] != '2' || h[3] != '$' || h[6] != '$') return false;
  if (h[2] != 'a' && h[2] != 'b' && h[2] != 'y') return false;
  if (h[4] < '0' || h[4] > '3' || h[5] < '0' || h[5] > '9') return false;
  const int cost = (h[4] - '0') * 10 + (h[5] - '0');
  if (cost < 4 || cost > 31) return false;
  return std::all_of(h.begin() + 7, h.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '/';
  });
}

class WebLoader : YamlReader {
 public:
  WebLoader(std::string file, std::string base_dir)
      : YamlReader(std::move(file)), base_dir_(std::move(base_dir)) {}

  WebConfigResult Load(std::string_view text) {
    WebConfigResult result;
    const auto parsed = Parse(text);
    if (!parsed) {
      result.errors = TakeErrors();
      return result;
    }
    const YAML::Node& root = *parsed;
    WebConfig config;
    // An empty file is valid: plain HTTP, no authentication.
    if (root && !root.IsNull() &&
        CheckMap(root, "the web configuration", kTopKeys, "at the top level")) {
      if (root["tls_server_config"]) ParseTls(root["tls_server_config"], config);
      if (root["http_server_config"]) ParseHttp(root["http_server_config"], config);
      if (root["basic_auth_users"]) ParseUsers(root["basic_auth_users"], config);
      if (root["rate_limit"]) ParseRateLimit(root["rate_limit"], config);
    }
    result.errors = TakeErrors();
    if (result.errors.empty()) result.config = std::move(config);
    return result;
  }

 private:
  std::string Path(const std::string& p) const {
    if (p.empty() || p.front() == '/' || base_dir_.empty()) return p;
    return (std::filesystem::path(base_dir_) / p).string();
  }

  template <typename Table>
  auto Choice(const YAML::Node& n, std::string_view what, const Table& table)
      -> std::optional<typename Table::value_type::second_type> {
    auto s = String(n, what);
    if (!s) return std::nullopt;
    for (const auto& [name, value] : table) {
      if (name == *s) return value;
    }
    Error(n,
          "unknown " + std::string(what) + " " + Quote(*s) + " (use one of " + Names(table) + ")");
    return std::nullopt;
  }

  // A PEM given inline or as a file; exactly one may be set.
  void Pem(const YAML::Node& n, std::string_view inline_key, std::string_view file_key,
           std::string& inline_out, std::string& file_out, bool required) {
    const YAML::Node in = n[std::string(inline_key)];
    const YAML::Node file = n[std::string(file_key)];
    const std::string ctx = " in 'tls_server_config'";
    if (in && file) {
      Error(file, "set " + Quote(inline_key) + " or " + Quote(file_key) + ", not both" + ctx);
      return;
    }
    if (!in && !file) {
      if (required) Error(n, "missing " + Quote(file_key) + ctx);
      return;
    }
    if (in) {
      if (auto s = String(in, Quote(inline_key))) inline_out = *s;
      return;
    }
    auto s = String(file, Quote(file_key));
    if (!s) return;
    if (s->empty()) {
      Error(file, Quote(file_key) + " is empty" + ctx);
      return;
    }
    file_out = Path(*s);
    if (std::ifstream f(file_out); !f) {
      Error(file, "cannot read " + Quote(file_key) + " " + Quote(file_out) + ": " +
                      std::generic_category().message(errno));
    }
  }

  void ParseTls(const YAML::Node& n, WebConfig& config) {
    if (!CheckMap(n, "'tls_server_config'", kTlsKeys, "in 'tls_server_config'")) return;
    WebTlsConfig tls;
    Pem(n, "cert", "cert_file", tls.cert, tls.cert_file, true);
    Pem(n, "key", "key_file", tls.key, tls.key_file, true);
    Pem(n, "client_ca", "client_ca_file", tls.client_ca, tls.client_ca_file, false);
    using Auth = WebTlsConfig::ClientAuth;
    if (n["client_auth_type"]) {
      if (auto a = Choice(n["client_auth_type"], "'client_auth_type'", kClientAuth)) {
        tls.client_auth = *a;
      }
    }
    const bool has_ca = !tls.client_ca.empty() || !tls.client_ca_file.empty();
    const bool verifies = tls.client_auth == Auth::kVerifyClientCertIfGiven ||
                          tls.client_auth == Auth::kRequireAndVerifyClientCert;
    if (has_ca && tls.client_auth == Auth::kNoClientCert) {
      Error(n,
            "a client CA is set but 'client_auth_type' is NoClientCert; "
            "use RequireAndVerifyClientCert to require client certificates");
    }
    if (verifies && !has_ca && !n["client_ca"] && !n["client_ca_file"]) {
      Error(n["client_auth_type"], "'client_auth_type' " + n["client_auth_type"].Scalar() +
                                       " needs 'client_ca_file' to verify against");
    }
    if (n["client_allowed_sans"]) {
      if (auto l = StringList(n["client_allowed_sans"], "'client_allowed_sans'")) {
        tls.client_allowed_sans = std::move(*l);
      }
      if (tls.client_auth != Auth::kRequireAnyClientCert &&
          tls.client_auth != Auth::kRequireAndVerifyClientCert) {
        Error(n["client_allowed_sans"],
              "'client_allowed_sans' needs 'client_auth_type' RequireAndVerifyClientCert "
              "(or RequireAnyClientCert): otherwise a client may send no certificate");
      }
    }
    if (n["min_version"]) {
      if (auto v = Choice(n["min_version"], "'min_version'", kVersions)) tls.min_version = *v;
    }
    if (n["max_version"]) {
      if (auto v = Choice(n["max_version"], "'max_version'", kVersions)) tls.max_version = *v;
    }
    if (tls.min_version > tls.max_version) {
      Error(n, "'min_version' is above 'max_version'");
    }
    if (n["cipher_suites"]) {
      if (auto l = StringList(n["cipher_suites"], "'cipher_suites'")) {
        for (std::size_t i = 0; i < l->size(); ++i) {
          if (std::find(kCipherSuites.begin(), kCipherSuites.end(), (*l)[i]) ==
              kCipherSuites.end()) {
            Error(n["cipher_suites"][i], "unknown or insecure cipher suite " + Quote((*l)[i]) +
                                             " (use one of " + Names(kCipherSuites) + ")");
          }
        }
        tls.cipher_suites = std::move(*l);
      }
    }
    if (n["prefer_server_cipher_suites"]) {
      if (auto b = Bool(n["prefer_server_cipher_suites"], "'prefer_server_cipher_suites'")) {
        tls.prefer_server_cipher_suites = *b;
      }
    }
    if (n["curve_preferences"]) {
      const YAML::Node& curves = n["curve_preferences"];
      if (auto l = StringList(curves, "'curve_preferences'")) {
        for (std::size_t i = 0; i < l->size(); ++i) {
          if (auto c = Choice(curves[i], "curve", kCurves)) {
            tls.curve_preferences.emplace_back(*c);
          }
        }
      }
    }
    config.tls = std::move(tls);
  }

  void ParseHttp(const YAML::Node& n, WebConfig& config) {
    if (!CheckMap(n, "'http_server_config'", kHttpKeys, "in 'http_server_config'")) return;
    // sloprobe serves HTTP/1.1 only; `http2` is accepted so that one file
    // serves sloprobe and the exporters beside it.
    if (n["http2"]) Bool(n["http2"], "'http2'");
    if (!n["headers"]) return;
    const YAML::Node& h = n["headers"];
    if (!CheckMap(h, "'headers'", kHeaderNames, "in 'http_server_config.headers'")) return;
    for (const auto& kv : h) {
      const auto name = kv.first.Scalar();
      auto value = String(kv.second, "header " + Quote(name));
      if (!value || value->empty()) continue;  // blank: unset
      if (!ValidHeaderValue(*value)) {
        Error(kv.second, "header " + Quote(name) + " holds a line break");
        continue;
      }
      if (name == "X-Frame-Options" && !EqualsIgnoreCase(*value, "deny") &&
          !EqualsIgnoreCase(*value, "sameorigin")) {
        Error(kv.second, "'X-Frame-Options' must be deny or sameorigin");
        continue;
      }
      if (name == "X-Content-Type-Options" && !EqualsIgnoreCase(*value, "nosniff")) {
        Error(kv.second, "'X-Content-Type-Options' must be nosniff");
        continue;
      }
      config.headers.emplace_back(name, *value);
    }
  }

  void ParseUsers(const YAML::Node& n, WebConfig& config) {
    if (n.IsNull()) return;
    if (!n.IsMap()) {
      Error(n, "'basic_auth_users' must be a mapping of user name to bcrypt hash");
      return;
    }
    for (const auto& kv : n) {
      const auto user = kv.first.Scalar();
      if (user.empty() || user.find(':') != std::string::npos ||
          !std::all_of(user.begin(), user.end(),
                       [](unsigned char c) { return c >= 0x20 && c != 0x7f; })) {
        Error(kv.first, "invalid user name in 'basic_auth_users' (no ':' or control characters)");
        continue;
      }
      if (config.basic_auth_users.count(user) != 0) {
        Error(kv.first, "duplicate user " + Quote(user) + " in 'basic_auth_users'");
        continue;
      }
      // The value is never quoted back: if it is not a hash it may well be
      // the password itself.
      if (!kv.second.IsScalar() || !IsBcrypt(kv.second.Scalar())) {
        Error(kv.second, "the password of user " + Quote(user) +
                             " is not a bcrypt hash ($2y$10$ and 53 more characters; make one "
                             "with `htpasswd -nBC 10 \"\" | tr -d ':\\n'`)");
        continue;
      }
      config.basic_auth_users.emplace(user, kv.second.Scalar());
    }
  }

  void ParseRateLimit(const YAML::Node& n, WebConfig& config) {
    if (!CheckMap(n, "'rate_limit'", kRateLimitKeys, "in 'rate_limit'")) return;
    WebConfig::RateLimit limit;
    if (n["interval"]) {
      if (auto d = PositiveDuration(n["interval"], "'rate_limit.interval'", true)) {
        limit.interval = *d;
      }
    }
    if (n["burst"]) {
      if (auto b = Number<int>(n["burst"], "'rate_limit.burst'")) {
        if (*b < 0) {
          Error(n["burst"], "'rate_limit.burst' must not be negative");
        } else {
          limit.burst = *b;
        }
      }
    }
    // An interval of 0 turns the limiter off, as in the exporter-toolkit.
    if (limit.interval > Duration::zero()) config.rate_limit = limit;
  }

  std::string base_dir_;
};

}  // namespace

std::vector<std::string> WebConfig::Files() const {
  std::vector<std::string> out;
  if (!tls) return out;
  for (const auto* f : {&tls->cert_file, &tls->key_file, &tls->client_ca_file}) {
    if (!f->empty()) out.push_back(*f);
  }
  return out;
}

WebConfigResult LoadWebConfigString(std::string_view yaml, const std::string& file,
                                    const std::string& base_dir) {
  return WebLoader(file, base_dir).Load(yaml);
}

WebConfigResult LoadWebConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    WebConfigResult result;
    result.errors.push_back({Location{path, 0, 0}, "cannot read the web configuration file: " +
                                                       std::generic_category().message(errno)});
    return result;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return LoadWebConfigString(text.str(), path, std::filesystem::path(path).parent_path().string());
}

}  // namespace sloprobe::config
