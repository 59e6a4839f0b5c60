#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <span>

#include "config/config.hpp"
#include "probes/common/probe.hpp"
#include "probes/common/tls_contexts.hpp"

// The probe kinds: each lives in its own folder under probes/ and has one
// row in the table in kinds.cpp.
namespace sloprobe::probes {

struct ProbeKind {
  config::ProbeType type;
  // Makes a probe of this kind; throws when it cannot be set up.
  std::shared_ptr<Probe> (*make)(const config::ProbeConfig& config,
                                 boost::asio::any_io_executor executor,
                                 std::shared_ptr<TlsContexts> tls,
                                 std::shared_ptr<const config::Redactor> secrets);
};

// Every registered kind.
std::span<const ProbeKind> Kinds();

// Throws std::runtime_error with a message naming the probe when the probe
// cannot be set up (e.g. its CA file is not valid PEM).
// Probes made with the same `tls` share TLS contexts. `secrets` (the
// config's resolved secrets) are scrubbed from failure details, in case a
// server sends one back.
std::shared_ptr<Probe> MakeProbe(const config::ProbeConfig& config,
                                 boost::asio::any_io_executor executor,
                                 std::shared_ptr<TlsContexts> tls,
                                 std::shared_ptr<const config::Redactor> secrets = nullptr);

}  // namespace sloprobe::probes
