#pragma once

#include <boost/asio/ssl/context.hpp>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "config/config.hpp"

namespace sloprobe::probes {

// TLS client contexts shared by every probe with the same trust settings.
// Loading the system trust store parses every CA certificate (about a
// megabyte of memory and tens of millions of instructions), so it happens
// once per distinct setting, and only when some probe speaks TLS.
// Not thread-safe: use it from the probes' executor.
class TlsContexts {
 public:
  // Throws std::runtime_error when the trust settings cannot be loaded.
  std::shared_ptr<boost::asio::ssl::context> Get(const config::TlsConfig& tls);
  std::size_t Size() const { return contexts_.size(); }

 private:
  std::map<std::pair<std::string, bool>, std::shared_ptr<boost::asio::ssl::context>> contexts_;
};

}  // namespace sloprobe::probes
