#pragma once

#include <optional>
#include <ostream>
#include <string>

#include "config/config.hpp"

namespace sloprobe::daemon {

inline constexpr int kConfigValid = 0;
inline constexpr int kConfigInvalid = 1;
// Valid as far as it could be read, but credentials could not be read.
inline constexpr int kConfigUnchecked = 3;

// `--config.check`: loads the file and sets up every probe without running
// it, and loads the web configuration file if one is named (certificates
// included). Prints each error as "file:line:column: message" to `err` and
// returns kConfigInvalid, or prints a summary to `out` and returns
// kConfigValid. Run by hand (no $CREDENTIALS_DIRECTORY), it reads credential
// sloprobe_F from /etc/sloprobe/credentials/F, where the packaged unit loads
// it from; one it cannot read is named, the rest checked, and the result is
// kConfigUnchecked.
int CheckConfig(const std::string& path, const std::string& web_config_file, std::ostream& out,
                std::ostream& err);

// When `config`'s file can be read by every user and holds credentials
// written into it (instead of taken from `secrets`): a warning naming where
// they are, never what they are. nullopt otherwise.
std::optional<std::string> ExposedCredentialsWarning(const config::Config& config);

// Logs that warning, if there is one.
void WarnIfCredentialsExposed(const config::Config& config);

}  // namespace sloprobe::daemon
