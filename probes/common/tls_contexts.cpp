#include "probes/common/tls_contexts.hpp"

#include <stdexcept>

namespace sloprobe::probes {

namespace ssl = boost::asio::ssl;

std::shared_ptr<ssl::context> TlsContexts::Get(const config::TlsConfig& tls) {
  const auto key = std::make_pair(tls.ca_file, tls.insecure_skip_verify);
  if (auto it = contexts_.find(key); it != contexts_.end()) return it->second;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  try {
    if (tls.insecure_skip_verify) {
      ctx->set_verify_mode(ssl::verify_none);
    } else {
      ctx->set_verify_mode(ssl::verify_peer);
      if (tls.ca_file.empty()) {
        ctx->set_default_verify_paths();
      } else {
        ctx->load_verify_file(tls.ca_file);
      }
    }
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error("cannot load TLS trust settings" +
                             (tls.ca_file.empty() ? std::string() : " from '" + tls.ca_file + "'") +
                             ": " + e.code().message());
  }
  contexts_.emplace(key, ctx);
  return ctx;
}

}  // namespace sloprobe::probes
