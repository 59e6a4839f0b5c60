#pragma once

#include <boost/url/url.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config/error.hpp"
#include "config/secrets.hpp"
#include "config/target.hpp"

namespace sloprobe::config {

// How secrets are read. The daemon takes the defaults: every secret must be
// readable. Commands run by hand loosen them.
struct LoadOptions {
  // Read credentials from here when systemd passed none.
  std::optional<CredentialFallback> credential_fallback;
  // Without $CREDENTIALS_DIRECTORY, a credential this process cannot see
  // (see ResolveSecret's `unverifiable`) is not an error: it is listed in
  // LoadResult::unchecked and a placeholder stands in for its value, so that
  // everything else can still be checked.
  bool tolerate_unreadable_credentials = false;
};

// What commands run by hand load with: credentials from where the packaged
// unit loads them; `tolerate` as LoadOptions::tolerate_unreadable_credentials.
LoadOptions ByHandLoadOptions(bool tolerate);

// Either a complete config or every error found; never both, never half.
struct LoadResult {
  std::optional<Config> config;
  std::vector<ConfigError> errors;
  // Credentials that could not be read and were not checked (only with
  // LoadOptions::tolerate_unreadable_credentials).
  std::vector<ConfigError> unchecked;
  // When LoadConfigFile began to read: the contents are no older than this.
  std::chrono::steady_clock::time_point read_at{};
};

LoadResult LoadConfigFile(const std::string& path, const LoadOptions& options = {});

// `file` only names the source in error messages.
LoadResult LoadConfigString(std::string_view yaml, const std::string& file,
                            const LoadOptions& options = {});

}  // namespace sloprobe::config
