#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "tests/integration/harness.hpp"

namespace sloprobe::test {

// Writes a self-signed P-256 certificate for sloprobe.test and 127.0.0.1,
// valid from `not_before` to `not_after` (seconds from now), and its key.
void WriteSelfSigned(const std::string& cert_file, const std::string& key_file, long not_before,
                     long not_after);

// A TLS server on loopback with a self-signed certificate made for the
// test, valid for 30 days or (`expired`) until yesterday; answers every
// request 200 "tls ok" and closes, or, for a WebSocket upgrade, echoes
// every message. Its Beast and OpenSSL code lives in tls_server.cpp, compiled
// once rather than in every test that needs the server.
class TlsServer {
 public:
  explicit TlsServer(const TempDir& dir, bool expired = false);
  ~TlsServer();
  TlsServer(const TlsServer&) = delete;
  TlsServer& operator=(const TlsServer&) = delete;
  std::uint16_t Port() const;
  const std::string& CertFile() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sloprobe::test
