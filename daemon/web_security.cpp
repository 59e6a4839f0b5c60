#include "daemon/web_security.hpp"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/address.hpp>
#include <cstring>
#include <stdexcept>

#include "config/text.hpp"
#include "daemon/log.hpp"

namespace sloprobe::daemon {

namespace ssl = boost::asio::ssl;

const std::string kUnknownUserHash = "$2b$10$8iNxUphP6GMUNPMj3V.r/.zPD89SVtWCEzzqUJ.YuvYlLGGOo57IS";

bool WebPolicy::TakeToken(std::chrono::steady_clock::time_point now) {
  if (!config.rate_limit) return true;
  const auto& limit = *config.rate_limit;
  const double burst = std::max(limit.burst, 1);
  if (refilled == std::chrono::steady_clock::time_point{}) {
    tokens = burst;
  } else {
    const double interval = std::chrono::duration<double>(limit.interval).count();
    tokens =
        std::min(burst, tokens + std::chrono::duration<double>(now - refilled).count() / interval);
  }
  refilled = now;
  if (limit.burst == 0 || tokens < 1) return false;  // burst 0 admits nothing, as in Go
  tokens -= 1;
  return true;
}

namespace {

int OpenSslVersion(config::WebTlsConfig::Version v) {
  using V = config::WebTlsConfig::Version;
  switch (v) {
    case V::kTls10:
      return TLS1_VERSION;
    case V::kTls11:
      return TLS1_1_VERSION;
    case V::kTls12:
      return TLS1_2_VERSION;
    case V::kTls13:
      return TLS1_3_VERSION;
  }
  return TLS1_2_VERSION;
}

// The reason of the last OpenSSL error, without file names or data.
std::string OpenSslReason(const boost::system::error_code& ec) {
  std::string m = ec.message();
  return m.empty() ? "invalid" : m;
}

// Accepts whatever certificate the client sends: the client auth types
// that ask for a certificate without verifying it.
int AcceptAny(int /*preverified*/, X509_STORE_CTX* /*ctx*/) { return 1; }

}  // namespace

std::shared_ptr<ssl::context> MakeServerTlsContext(const config::WebTlsConfig& tls) {
  using Auth = config::WebTlsConfig::ClientAuth;
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* ctx = context->native_handle();
  SSL_CTX_set_min_proto_version(ctx, OpenSslVersion(tls.min_version));
  SSL_CTX_set_max_proto_version(ctx, OpenSslVersion(tls.max_version));
  context->set_options(ssl::context::default_workarounds | ssl::context::no_compression);
  boost::system::error_code ec;
  auto fail = [](const std::string& field, const std::string& file,
                 const boost::system::error_code& e) {
    throw std::runtime_error("'tls_server_config." + field + "'" +
                             (file.empty() ? "" : " '" + file + "'") + ": " + OpenSslReason(e));
  };
  if (!tls.cert_file.empty()) {
    context->use_certificate_chain_file(tls.cert_file, ec);
    if (ec) fail("cert_file", tls.cert_file, ec);
  } else {
    context->use_certificate_chain(boost::asio::buffer(tls.cert), ec);
    if (ec) fail("cert", "", ec);
  }
  if (!tls.key_file.empty()) {
    context->use_private_key_file(tls.key_file, ssl::context::pem, ec);
    if (ec) fail("key_file", tls.key_file, ec);
  } else {
    context->use_private_key(boost::asio::buffer(tls.key), ssl::context::pem, ec);
    if (ec) fail("key", "", ec);
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    throw std::runtime_error("'tls_server_config': the key does not belong to the certificate");
  }
  if (!tls.client_ca_file.empty()) {
    context->load_verify_file(tls.client_ca_file, ec);
    if (ec) fail("client_ca_file", tls.client_ca_file, ec);
  } else if (!tls.client_ca.empty()) {
    context->add_certificate_authority(boost::asio::buffer(tls.client_ca), ec);
    if (ec) fail("client_ca", "", ec);
  }
  switch (tls.client_auth) {
    case Auth::kNoClientCert:
      context->set_verify_mode(ssl::verify_none);
      break;
    case Auth::kRequestClientCert:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, AcceptAny);
      break;
    case Auth::kRequireAnyClientCert:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, AcceptAny);
      break;
    case Auth::kVerifyClientCertIfGiven:
      context->set_verify_mode(ssl::verify_peer);
      break;
    case Auth::kRequireAndVerifyClientCert:
      context->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
      break;
  }
  // Sessions resumed with a client certificate need an id context.
  static constexpr unsigned char kSessionContext[] = "sloprobe";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
  if (!tls.cipher_suites.empty()) {
    std::string list;
    for (const auto& name : tls.cipher_suites) {
      const char* openssl_name = OPENSSL_cipher_name(name.c_str());
      if (openssl_name == nullptr || std::strcmp(openssl_name, "(NONE)") == 0) {
        throw std::runtime_error("'tls_server_config.cipher_suites': '" + name +
                                 "' is not available in this OpenSSL");
      }
      if (!list.empty()) list += ':';
      list += openssl_name;
    }
    if (SSL_CTX_set_cipher_list(ctx, list.c_str()) != 1) {
      throw std::runtime_error("'tls_server_config.cipher_suites': none is usable");
    }
  }
  if (tls.prefer_server_cipher_suites) SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (!tls.curve_preferences.empty()) {
    std::string list;
    for (const auto& c : tls.curve_preferences) list += (list.empty() ? "" : ":") + c;
    if (SSL_CTX_set1_groups_list(ctx, list.c_str()) != 1) {
      throw std::runtime_error("'tls_server_config.curve_preferences': not supported here");
    }
  }
  return context;
}

bool ClientSanAllowed(const SSL* ssl, const std::vector<std::string>& allowed) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) return false;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return false;
  bool found = false;
  for (int i = 0; i < sk_GENERAL_NAME_num(names) && !found; ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    std::string value;
    if (name->type == GEN_DNS || name->type == GEN_EMAIL || name->type == GEN_URI) {
      const ASN1_IA5STRING* s = name->d.ia5;
      value.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                   static_cast<std::size_t>(ASN1_STRING_length(s)));
    } else if (name->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* s = name->d.iPAddress;
      const auto* data = ASN1_STRING_get0_data(s);
      if (ASN1_STRING_length(s) == 4) {
        boost::asio::ip::address_v4::bytes_type b;
        std::copy_n(data, 4, b.begin());
        value = boost::asio::ip::address_v4(b).to_string();
      } else if (ASN1_STRING_length(s) == 16) {
        boost::asio::ip::address_v6::bytes_type b;
        std::copy_n(data, 16, b.begin());
        value = boost::asio::ip::address_v6(b).to_string();
      }
    }
    found = !value.empty() && std::find(allowed.begin(), allowed.end(), value) != allowed.end();
  }
  GENERAL_NAMES_free(names);
  return found;
}

bool BcryptMatches(std::string_view password, const std::string& hash) {
  // crypt(3) reads a C string: a password with a NUL would be cut short.
  if (password.find('\0') != std::string_view::npos) return false;
  const std::string phrase(password);
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_rn(phrase.c_str(), hash.c_str(), data.get(), sizeof *data);
  if (out == nullptr || std::strlen(out) != hash.size()) return false;
  return CRYPTO_memcmp(out, hash.data(), hash.size()) == 0;
}

std::array<unsigned char, 32> CredentialKey(std::string_view user, std::string_view password,
                                            std::string_view hash) {
  std::array<unsigned char, 32> key{};
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  EVP_DigestInit_ex(md, EVP_sha256(), nullptr);
  const unsigned char zero = 0;
  EVP_DigestUpdate(md, user.data(), user.size());
  EVP_DigestUpdate(md, &zero, 1);
  EVP_DigestUpdate(md, password.data(), password.size());
  EVP_DigestUpdate(md, &zero, 1);
  EVP_DigestUpdate(md, hash.data(), hash.size());
  unsigned int length = 0;
  EVP_DigestFinal_ex(md, key.data(), &length);
  EVP_MD_CTX_free(md);
  return key;
}

std::optional<BasicCredentials> ParseBasicAuthorization(std::string_view header) {
  constexpr std::string_view kScheme = "basic ";
  if (header.size() < kScheme.size() ||
      !config::EqualsIgnoreCase(header.substr(0, kScheme.size()), kScheme)) {
    return std::nullopt;
  }
  header.remove_prefix(kScheme.size());
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  const auto decoded = config::Base64Decode(header);
  if (!decoded) return std::nullopt;
  const auto colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return BasicCredentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

std::shared_ptr<WebConfigWatcher> WebConfigWatcher::Load(const std::string& path,
                                                         std::vector<std::string>& errors) {
  std::shared_ptr<WebConfigWatcher> watcher(new WebConfigWatcher(path));
  auto policy = watcher->Build(errors);
  if (!policy) return nullptr;
  watcher->Adopt(std::move(policy), watcher->Stamp(nullptr));
  return watcher;
}

void WebConfigWatcher::Adopt(std::shared_ptr<WebPolicy> policy, const std::string& before) {
  stamp_ = Stamp(&policy->config);
  // A file that changed between the stamp taken before reading and the one
  // taken now may have been read half old, half new: look again next time.
  std::size_t start = 0;
  while (start < before.size()) {
    const auto end = before.find('\n', start);
    const auto line = before.substr(start, end - start + 1);
    const auto name = line.substr(0, line.find(' ') + 1);
    const bool listed =
        stamp_.find("\n" + name) != std::string::npos || stamp_.compare(0, name.size(), name) == 0;
    if (listed && stamp_.find(line) == std::string::npos) {
      stamp_.clear();
      break;
    }
    start = end + 1;
  }
  current_ = std::move(policy);
  failed_stamp_.clear();
}

std::shared_ptr<WebPolicy> WebConfigWatcher::Build(std::vector<std::string>& errors) const {
  auto loaded = config::LoadWebConfigFile(path_);
  for (const auto& e : loaded.errors) errors.push_back(e.ToString());
  if (!loaded.config) return nullptr;
  auto policy = std::make_shared<WebPolicy>();
  policy->config = std::move(*loaded.config);
  if (policy->config.tls) {
    try {
      policy->tls = MakeServerTlsContext(*policy->config.tls);
    } catch (const std::exception& e) {
      errors.push_back(path_ + ": " + e.what());
      return nullptr;
    }
  }
  return policy;
}

std::string WebConfigWatcher::Stamp(const config::WebConfig* config) const {
  std::string out;
  auto add = [&out](const std::string& file) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) {
      out += file + " missing\n";
      return;
    }
    out += file + ' ' + std::to_string(st.st_dev) + ':' + std::to_string(st.st_ino) + ' ' +
           std::to_string(st.st_size) + ' ' + std::to_string(st.st_mtim.tv_sec) + '.' +
           std::to_string(st.st_mtim.tv_nsec) + '\n';
  };
  add(path_);
  if (config != nullptr) {
    for (const auto& f : config->Files()) add(f);
  }
  return out;
}

std::shared_ptr<WebPolicy> WebConfigWatcher::Current() {
  const auto stamp = Stamp(&current_->config);
  if (stamp == stamp_ || stamp == failed_stamp_) return current_;
  std::vector<std::string> errors;
  auto policy = Build(errors);
  if (!policy) {
    failed_stamp_ = stamp;
    for (const auto& e : errors) {
      LogError("web configuration invalid; keeping the previous one", {{"error", e}});
    }
    return current_;
  }
  LogInfo("web configuration reloaded", {{"file", path_}});
  Adopt(std::move(policy), stamp);
  return current_;
}

}  // namespace sloprobe::daemon
